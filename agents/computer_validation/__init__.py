"""The computer_validation agent: its spec, schemas, graph and own code."""

from agents.computer_validation.spec import SPEC

__all__ = ["SPEC"]
