"""The web_research agent: its spec, and its graph and own code when it has them."""

from agents.web_research.spec import SPEC

__all__ = ["SPEC"]
