"""General assistant: everything that is not one of the seven business cases."""

from agents.base import AgentSpec
from agents.generic import build_generic_graph

SPEC = AgentSpec(
    label="general",
    title="Assistant général",
    description="Questions courantes, rédaction simple, résumés : tout ce qui n'est pas un cas métier.",
    role="fast",
    sensitivity="internal",
    guard="redact",
    graph=build_generic_graph,
)
