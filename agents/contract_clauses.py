"""Contract clauses: drafts or reviews a clause from the internal clause library."""

from agents.base import AgentSpec, collection_retriever

CLAUSES_COLLECTION = "clauses"

SPEC = AgentSpec(
    label="contract_clauses",
    title="Clauses contractuelles",
    description="Rédaction et revue de clauses (confidentialité, audit BPF, accord qualité, RGPD...) "
    "à partir de la bibliothèque de clauses interne.",
    role="drafting",
    sensitivity="internal",
    guard="redact",
    retrieve=collection_retriever(CLAUSES_COLLECTION, "Clauses contractuelles"),
)
