"""IT code assistant: writes, reviews and explains code; never runs it."""

from agents.base import AgentSpec
from agents.code.graph import build_code_graph

SPEC = AgentSpec(
    label="code",
    title="Assistant code",
    description="Aide au développement : code commenté, revue, scripts, requêtes SQL. Le code n'est jamais exécuté.",
    role="code",
    sensitivity="internal",
    guard="redact",
    graph=build_code_graph,
)
