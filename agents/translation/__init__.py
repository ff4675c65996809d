"""The translation agent: its spec, and its graph and own code when it has them."""

from agents.translation.spec import SPEC

__all__ = ["SPEC"]
