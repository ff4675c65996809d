"""Computer-system validation: URS, risk analyses, test scripts, traceability (GAMP 5, Annex 11)."""

from agents.base import AgentSpec, collection_retriever

SPEC = AgentSpec(
    label="computer_validation",
    title="Validation des systèmes informatisés",
    description="URS, analyses de risques AMDEC, scripts IQ/OQ/PQ et matrices de traçabilité (GAMP 5, Annexe 11).",
    role="reasoning",
    sensitivity="internal",
    guard="redact",
    retrieve=collection_retriever("bpf", "Validation des systèmes informatisés"),
)
