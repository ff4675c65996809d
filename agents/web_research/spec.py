"""Web research: searches the web, reads the best pages, answers with the sources cited inline."""

from agents.base import AgentSpec, SourcesUnavailable
from agents.generic import build_generic_graph
from relais.sources import Source

UNREACHABLE = (
    "Je n'ai pas pu consulter le web : {reason}. Je ne peux donc pas répondre avec des sources "
    "vérifiables. Réessayez plus tard ou interrogez l'assistant général, qui répondra sans source web."
)
PERSONAL_DATA = (
    "Votre demande contient des données personnelles ou confidentielles ({found}) : je ne l'envoie pas à un "
    "moteur de recherche public. Retirez-les de la question, ou utilisez un assistant interne."
)
NOTHING_FOUND = "La recherche web n'a donné aucun résultat exploitable pour cette demande. Reformulez-la ?"


def research_sources(question: str, k: int) -> list[Source]:
    """The pages the answer will rely on; an unreachable web becomes a plain answer, never an invented source."""
    from relais.guard import inspect
    from tools.web import WebUnavailable, research

    report = inspect([question])
    if not report.is_clean:  # a public search engine is outside the company: nothing personal goes there
        raise SourcesUnavailable(PERSONAL_DATA.format(found=report.summary()))
    try:
        sources = research(question, max_results=max(k, 3), pages=min(k, 4))
    except WebUnavailable as error:
        raise SourcesUnavailable(UNREACHABLE.format(reason=error)) from error
    if not sources:
        raise SourcesUnavailable(NOTHING_FOUND)
    return sources


SPEC = AgentSpec(
    label="web_research",
    title="Recherche web",
    description="Recherche sur le web public et synthèse avec sources citées.",
    role="fast",
    sensitivity="public",
    guard="refuse",
    retrieve=research_sources,
    public_sources=True,
    graph=build_generic_graph,
)
