"""Computer-system validation: URS, FMEA risk analyses, IQ/OQ/PQ scripts, traceability (GAMP 5, Annex 11)."""

from agents.base import AgentSpec, collection_retriever
from agents.computer_validation.graph import build_validation_graph
from agents.computer_validation.validation import fmea_risk_priority, gamp_software_category

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
    # The graph computes every drafted FMEA row's RPN and the GAMP category with these tools itself;
    # answering a question, the model may call them too.
    tools=(fmea_risk_priority, gamp_software_category),
    graph=build_validation_graph,
)
