"""Regulatory analysis: answers from the French GMP guide (BPF) with exact, verified references."""

from agents.base import AgentSpec, collection_retriever

BPF_COLLECTION = "bpf"

SPEC = AgentSpec(
    label="regulatory_analysis",
    title="Analyse réglementaire (BPF)",
    description="Réponses fondées sur le guide des BPF (ANSM 2019), "
    "avec références partie/chapitre/paragraphe vérifiées.",
    role="reasoning",
    sensitivity="internal",
    retrieve=collection_retriever(BPF_COLLECTION, "Analyse réglementaire"),
)
