"""Translation FR <-> EN of confidential documents: local models only."""

from agents.base import AgentSpec

SPEC = AgentSpec(
    label="translation",
    title="Traduction (confidentiel)",
    description="Traduction français ↔ anglais de documents internes, exécutée uniquement sur un modèle local.",
    role="translation",
    sensitivity="confidential",
)
