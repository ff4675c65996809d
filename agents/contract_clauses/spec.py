"""Contract clauses: drafts or reviews a clause from the internal clause library (knowledge/clauses)."""

from agents.base import AgentSpec, collection_retriever
from agents.contract_clauses.graph import build_contract_clauses_graph
from retrievers.clauses import CLAUSES_COLLECTION

SPEC = AgentSpec(
    label="contract_clauses",
    title="Clauses contractuelles",
    description="Rédaction et revue de clauses (confidentialité, audit BPF, accord qualité, RGPD...) "
    "à partir de la bibliothèque de clauses interne, écarts et points de validation juridique signalés.",
    role="drafting",
    sensitivity="internal",
    guard="redact",
    # kept for callers that only need the extracts (evaluation, the generic graph in tests)
    retrieve=collection_retriever(CLAUSES_COLLECTION, "Clauses contractuelles"),
    collection=CLAUSES_COLLECTION,
    graph=build_contract_clauses_graph,
)
