"""IT code assistant: writes, reviews and explains code; never runs it."""

from agents.base import AgentSpec

SPEC = AgentSpec(
    label="code",
    title="Assistant code",
    description="Aide au développement : code commenté, revue, scripts, requêtes SQL. Le code n'est jamais exécuté.",
    role="code",
    sensitivity="internal",
    guard="redact",
    graph="agents.code.graph:build_code_graph",
)
