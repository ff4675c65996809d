"""The judge: a model that marks an answer on the study's grid, with a reason per criterion."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableConfig

import prompts
from evaluation.grid import JudgeScores

NO_EXTRACT = "(aucun extrait récupéré)"
NO_REFERENCE = "(pas de réponse de référence)"
MAX_EXTRACT_CHARS = 1500  # per extract: the judge needs the gist, not the whole chunk
# Roles whose calls do not write the answer: the router only picks the agent.
NOT_WRITING_ROLES = frozenset({"router"})


@dataclass(frozen=True)
class JudgeSetup:
    """The judge of a run: its model, the chain it resolves to, and whether it may grade its own answers."""

    model: Runnable  # bound to the grid's structured output (`judge_model`)
    chain: tuple[str, ...] = ()  # `provider:model`, best first (`resolve_chain("judge", "internal")`)
    allow_self_judge: bool = False

    @property
    def planned(self) -> str | None:
        """The model expected to grade: the chain's first (a fallback grades only if it fails)."""
        return self.chain[0] if self.chain else None


def answer_models(calls: Iterable[Mapping]) -> set[str]:
    """The models that wrote an answer, from its results line's `models` calls (the router left out)."""
    return {str(call["model"]) for call in calls if call.get("role") not in NOT_WRITING_ROLES}


def self_judge_refusal(judge: str | None, written_by: Iterable[str], allowed: bool) -> str | None:
    """Why a grade is refused when the judge wrote the answer itself, or None when it may grade."""
    if allowed or judge is None or judge not in set(written_by):
        return None
    return (f"self-judging refused: {judge} wrote this answer and would grade it; choose another judge "
            f"(--model judge=PROVIDER:MODEL) or pass --allow-self-judge")


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
    config: RunnableConfig | None = None,
) -> JudgeScores:
    """Mark one answer on the grid.

    Args:
        question: the question asked.
        answer: the answer to mark.
        sources: the retrieved extracts ({title, text, ...}) the answer relied on.
        reference: the expected answer, when the dataset has one.
        model: a runnable returning `JudgeScores` or its dict (see `judge_model`); the catalog's judge by default.
        config: run configuration for the call (the runner passes a `ModelCallLog` to learn who graded).

    Returns:
        The three marks with their justifications; `.final` is the weighted mark.
    """
    model = model or judge_model()
    result = model.invoke(judge_prompt(question, answer, sources, reference), config)
    if isinstance(result, JudgeScores):
        return result
    if isinstance(result, Mapping):
        return JudgeScores.model_validate(dict(result))
    raise TypeError(f"the judge model returned {type(result).__name__}, not the grid's scores")


def scores_record(scores: JudgeScores) -> dict:
    """The marks as stored in a results line, final mark included."""
    return {**scores.model_dump(), "final": scores.final}
