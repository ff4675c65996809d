"""Procedures: drafts SOPs and work instructions in the company's structure."""

from agents.base import AgentSpec

SPEC = AgentSpec(
    label="procedures",
    title="Procédures (SOP)",
    description="Rédaction de procédures et d'instructions de travail à partir de vos notes.",
    role="drafting",
    sensitivity="internal",
    guard="redact",
)
