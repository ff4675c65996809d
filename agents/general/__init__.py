"""The general agent: its spec, and its graph and own code when it has them."""

from agents.general.spec import SPEC

__all__ = ["SPEC"]
