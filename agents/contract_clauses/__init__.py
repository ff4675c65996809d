"""The contract_clauses agent: its spec, and its graph and own code when it has them."""

from agents.contract_clauses.spec import SPEC

__all__ = ["SPEC"]
