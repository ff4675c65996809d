"""The procedures agent: its spec, schemas, graph and own code."""

from agents.procedures.schemas import SPEC

__all__ = ["SPEC"]
