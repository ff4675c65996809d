"""Regulatory analysis: answers from the French GMP guide (BPF) with exact, verified references."""

from agents.base import AgentSpec

SPEC = AgentSpec(
    label="regulatory_analysis",
    title="Analyse réglementaire (BPF)",
    description="Réponses fondées sur le guide des BPF (ANSM 2019), "
    "avec références partie/chapitre/paragraphe vérifiées.",
    role="reasoning",
    sensitivity="internal",
    graph="agents.regulatory_analysis.graph:build_regulatory_graph",
)
