"""The procedures agent: its spec, schemas, graph and own code."""

from agents.procedures.spec import SPEC

__all__ = ["SPEC"]
