"""IT code assistant: writes and explains code; never runs it."""

from agents.base import AgentSpec

SPEC = AgentSpec(
    label="code",
    title="Assistant code",
    description="Aide au développement : code commenté, revue, scripts, requêtes SQL.",
    role="code",
    sensitivity="internal",
    guard="redact",
)
