"""The regulatory_analysis agent: its spec, and its graph and own code when it has them."""

from agents.regulatory_analysis.spec import SPEC

__all__ = ["SPEC"]
