"""Translation FR <-> EN of confidential documents: local models only, GMP glossary enforced."""

from agents.base import AgentSpec
from agents.translation.graph import build_translation_graph
from tools.glossary import lookup_gmp_term

SPEC = AgentSpec(
    label="translation",
    title="Traduction (confidentiel)",
    description="Traduction français ↔ anglais de documents internes (Markdown, tableaux et numérotation "
    "conservés, glossaire BPF imposé), exécutée uniquement sur un modèle local.",
    role="translation",
    # never a remote provider, whatever RELAIS_MODELS or MISTRAL_API_KEY say (the catalog drops them)
    sensitivity="confidential",
    # The glossary lookup runs in the graph itself on every part (structured translation calls take no
    # tools): each part's prompt carries the entries its terms need, and a status says how many the
    # text holds. The tool is the same lookup, for a model that asks about one term.
    tools=(lookup_gmp_term,),
    graph=build_translation_graph,
)
