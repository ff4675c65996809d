"""Regulatory analysis: answers from the French GMP guide (BPF) with exact, verified references."""

from agents.base import AgentSpec
from agents.regulatory_analysis.graph import build_regulatory_graph
from agents.regulatory_analysis.paragraphs import get_paragraph

SPEC = AgentSpec(
    label="regulatory_analysis",
    title="Analyse réglementaire (BPF)",
    description="Réponses fondées sur le guide des BPF (ANSM 2019), "
    "avec références partie/chapitre/paragraphe vérifiées.",
    role="reasoning",
    sensitivity="internal",
    collection="bpf",
    tools=(get_paragraph,),  # the allowlist: a tool-calling model may fetch a paragraph by reference
    graph=build_regulatory_graph,
)
