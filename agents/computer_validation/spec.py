"""Computer-system validation: URS, FMEA risk analyses, IQ/OQ/PQ scripts, traceability (GAMP 5, Annex 11)."""

from agents.base import AgentSpec, collection_retriever
from agents.computer_validation.graph import build_validation_graph

SPEC = AgentSpec(
    label="computer_validation",
    title="Validation des systèmes informatisés",
    description="URS, analyses de risques AMDEC, scripts IQ/OQ/PQ et matrices de traçabilité (GAMP 5, Annexe 11), "
    "exports Word et Excel.",
    role="reasoning",
    sensitivity="internal",
    guard="redact",
    retrieve=collection_retriever("bpf", "Validation des systèmes informatisés"),
    collection="bpf",  # Annexes 11 and 15 of the GMP guide
    graph=build_validation_graph,
)
