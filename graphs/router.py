# TEMPORARY local stand-in until the router branch lands (never committed).
from dataclasses import dataclass

from pydantic import BaseModel

CONFIDENCE_THRESHOLD = 0.5
@dataclass
class RouteDecision:
    label: str
    confidence: float
    method: str
@dataclass
class SlashCommand:
    label: str
    structured: bool
    rest: str
class RouterChoice(BaseModel):
    label: str
    reason: str = ""
TABLE = {"/bpf": ("regulatory_analysis", True), "/code": ("code", False), "/traduire": ("translation", False)}
def parse_slash_command(text):
    word, _, rest = text.strip().partition(" ")
    if word in TABLE:
        label, structured = TABLE[word]
        return SlashCommand(label, structured, rest.strip())
    return None
class _R:
    def decide(self, text):
        if "python" in text.lower(): return RouteDecision("code", 0.9, "local")
        if "???" in text: return RouteDecision("general", 0.2, "local")
        return RouteDecision("general", 0.9, "local")
def get_router(): return _R()
def classify_with_model(text, model):
    choice = model.invoke(text)
    return RouteDecision(choice.label, 0.8, "model")
