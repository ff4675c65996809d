"""The judge: a model that marks an answer on the study's grid, with a reason per criterion."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

import prompts
from evaluation.grid import JudgeScores

NO_EXTRACT = "(aucun extrait récupéré)"
NO_REFERENCE = "(pas de réponse de référence)"
MAX_EXTRACT_CHARS = 1500  # per extract: the judge needs the gist, not the whole chunk


def judge_model(chat_model: BaseChatModel | None = None) -> Runnable:
    """A chat model bound to the grid's structured output; the catalog's `judge` role by default."""
    if chat_model is not None:
        return chat_model.with_structured_output(JudgeScores)
    from relais.models.catalog import get_chat_model

    return get_chat_model("judge", "internal", schema=JudgeScores)


def format_extracts(sources: Iterable[Mapping]) -> str:
    """Retrieved sources as numbered extracts with their titles, for the judge's prompt."""
    blocks = []
    for number, source in enumerate(sources, start=1):
        text = str(source.get("text", ""))[:MAX_EXTRACT_CHARS]
        blocks.append(f"[{number}] {source.get('title', 'source')}\n{text}")
    return "\n\n".join(blocks) or NO_EXTRACT


def judge_prompt(question: str, answer: str, sources: Iterable[Mapping], reference: str | None) -> str:
    """The judge's prompt: question, answer, retrieved extracts and reference when there is one."""
    return prompts.render(
        "judge",
        question=question,
        answer=answer or "(réponse vide)",
        extracts=format_extracts(sources),
        reference=reference or NO_REFERENCE,
    )


def judge_answer(
    question: str,
    answer: str,
    sources: Iterable[Mapping] = (),
    reference: str | None = None,
    model: Runnable | None = None,
) -> JudgeScores:
    """Mark one answer on the grid.

    Args:
        question: the question asked.
        answer: the answer to mark.
        sources: the retrieved extracts ({title, text, ...}) the answer relied on.
        reference: the expected answer, when the dataset has one.
        model: a runnable returning `JudgeScores` or its dict (see `judge_model`); the catalog's judge by default.

    Returns:
        The three marks with their justifications; `.final` is the weighted mark.
    """
    model = model or judge_model()
    result = model.invoke(judge_prompt(question, answer, sources, reference))
    if isinstance(result, JudgeScores):
        return result
    if isinstance(result, Mapping):
        return JudgeScores.model_validate(dict(result))
    raise TypeError(f"the judge model returned {type(result).__name__}, not the grid's scores")


def scores_record(scores: JudgeScores) -> dict:
    """The marks as stored in a results line, final mark included."""
    return {**scores.model_dump(), "final": scores.final}
