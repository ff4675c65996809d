"""General assistant: everything that is not one of the seven business cases."""

from agents.base import AgentSpec

SPEC = AgentSpec(
    label="general",
    title="Assistant général",
    description="Questions courantes, rédaction simple, résumés : tout ce qui n'est pas un cas métier.",
    role="fast",
    sensitivity="internal",
    guard="redact",
)
