"""Procedures: drafts SOPs and work instructions in the company's structure, exported as .docx."""

from agents.base import AgentSpec
from agents.procedures.graph import build_procedures_graph

SPEC = AgentSpec(
    label="procedures",
    title="Procédures (SOP)",
    description="Rédaction de procédures et d'instructions de travail à partir de vos notes, export Word.",
    role="drafting",
    sensitivity="internal",
    guard="redact",
    graph=build_procedures_graph,
)
