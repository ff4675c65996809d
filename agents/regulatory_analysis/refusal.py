"""The answer when the guide does not cover the question, saying what was searched."""

from __future__ import annotations

from typing import Any

import prompts


def searched_summary(passages: list[Any], collection: str) -> str:
    """Where the search looked and the closest passages it found (search hits or their documents)."""
    closest = ", ".join(dict.fromkeys(passage.metadata.get("reference") or passage.metadata.get("chapter_title", "")
                                      for passage in passages[:3] if passage.metadata))
    where = f" ; passages les plus proches : {closest}" if closest else ""
    # no guillemets here: in an answer they mark the guide's own words, and citation checks read them so
    return f"le guide BPF (index {collection}), pour la question ci-dessus{where}"


def refusal_text(question: str, passages: list[Any], collection: str) -> str:
    """The agent's refusal: the guide does not deal with the question, and what was searched."""
    return prompts.render("regulatory_analysis_refusal", question=question,
                          searched=searched_summary(passages, collection))
