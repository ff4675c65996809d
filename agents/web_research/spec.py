"""Web research: searches the web, reads the best pages, searches again when they do not answer, cites them."""

from agents.base import AgentSpec
from agents.web_research.graph import build_research_graph
from tools.web import web_search

SPEC = AgentSpec(
    label="web_research",
    title="Recherche web",
    description="Recherche sur le web public et synthèse avec sources citées.",
    role="fast",
    sensitivity="public",
    guard="refuse",
    # The graph searches and reads by itself (the question, then reformulations); the model may ask for
    # one more search while answering, where it supports tool calls.
    tools=(web_search,),
    public_sources=True,
    graph=build_research_graph,
)
