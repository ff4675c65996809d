"""Web research: searches the web and answers with cited sources."""

from agents.base import AgentSpec

SPEC = AgentSpec(
    label="web_research",
    title="Recherche web",
    description="Recherche sur le web public et synthèse avec sources citées.",
    role="fast",
    sensitivity="public",
)
