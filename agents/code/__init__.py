"""The code agent: its spec, and its graph and own code when it has them."""

from agents.code.spec import SPEC

__all__ = ["SPEC"]
