"""The extract-first answer, for small models: the model picks the extracts' sentences, code quotes them.

On the embedded 1.5B model a written answer failed: « Le guide BPF ne fixe pas de spécifications… » for a
question its first extract answered, prompt text copied into answers, statements without references. A
small model (`relais.models.catalog.is_small_model`) is therefore only asked what it does reliably:

1. `pick_sentences`: the extracts are cut into sentences (sentences.py); the 16 closest to the question are
   offered, the closest first, numbered, each with its reference, and the model returns the numbers of those
   that answer through a JSON schema (a forced tool call, held to the schema by llama.cpp): a few tokens.
   Numbers that name no offered sentence are dropped; with none left, the agent's refusal, saying what was
   searched. A paragraph the question names (« que dit le §4.11 ? ») is offered first and always quoted.
   A picked sentence that announces a list (« …les tâches suivantes : ») brings the list's items.
2. `write_synthesis`: two or three sentences from the picked ones only, the tokens capped; sentences that
   echo the instructions, deny what the extracts say, rest on words the picked sentences do not hold, or cite
   what they do not carry are removed (synthesis.py).
3. `assemble_answer`: code writes the answer, the synthesis first, then each picked sentence quoted « … »
   with its own reference, grouped by extract in the guide's order. The whole goes through the citation
   checks of the generative path, so the synthesis cannot cite what no extract carries; one source per
   cited extract. With the structured format (/bpf), the same pieces fill its seven sections in code: a
   small model cannot be trusted to keep them, nor to compare parts beyond setting their quotations side
   by side.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

from langchain_core.callbacks import get_usage_metadata_callback
from langchain_core.documents import Document
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

import prompts
from agents.base import AgentSpec
from agents.regulatory_analysis.references import checked_answer, cites_beyond, passage_sources
from agents.regulatory_analysis.refusal import refusal_text
from agents.regulatory_analysis.sentences import (
    Sentence,
    cited_chunks,
    closest_sentences,
    in_guide_order,
    numbered_sentences,
    quoted_answer,
    sentence_reference,
    sentences_block,
    split_sentences,
    with_their_lists,
)
from agents.regulatory_analysis.state import RegulatoryState, guide_collection
from agents.regulatory_analysis.synthesis import clean_synthesis
from relais.attachments import user_request
from relais.context import Context, context_of
from relais.events import emit_status
from relais.models.catalog import SCHEMA_MISFIT, get_chat_model
from relais.models.guarded import GuardRefused
from relais.publish import publish_answer, usage_of, usage_total
from retrievers.citations import STRUCTURED_SECTIONS, reference_label, sources_markdown

logger = logging.getLogger(__name__)

MAX_PICKED = 8  # enough for a requirement spread over a few paragraphs; the JSON stays a few tokens
# Sentences the model chooses among, the closest to the question first (closest_sentences). Reading them is
# most of the pick's time: 24 took p50 46.3 s a whole answer on bpf_blind3 h01-h08 and 55.5 s on 8 bpf_dev2
# questions; 16 took 37.0 s and 45.0 s, with the gold quotes' share unchanged or better (0.36 → 0.38, 0.53 → 0.59).
MAX_OFFERED = 16
PICK_MAX_TOKENS = 96  # « {"phrases": [3, 4, 5, 12, 13, 14, 20, 21]} » with room to spare
SYNTHESIS_MAX_TOKENS = 120  # two or three short sentences; one cut short is dropped
RELIABILITY = ("✅ chaque point cité est repris mot pour mot du guide et suivi de sa référence ; "
               "la synthèse ne s'appuie que sur ces passages.")
UNREADABLE = ("Le modèle n'a pas rendu de choix lisible parmi les phrases des extraits ({error}) : je ne peux pas "
              "fonder de réponse sur eux. Réessayez, ou lisez les passages retrouvés ci-dessous.")


class PickedSentences(BaseModel):
    """The sentences of the extracts that answer the question."""

    phrases: list[int] = Field(default_factory=list, json_schema_extra={"maxItems": MAX_PICKED},
                               description="numéros des phrases qui répondent à la question")


def pick_sentences(spec: AgentSpec, state: RegulatoryState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the model which sentences of the extracts answer; no sentence is the refusal."""
    chunks, question = state["chunks"], user_request(state["messages"])
    sentences = numbered_sentences(chunks)
    # « Que dit le §4.11 ? »: the paragraphs the question names are quoted whatever the model picks.
    named = [sentence for sentence in sentences if sentence.passage < state.get("named", 0)][:MAX_PICKED]
    others = [sentence for sentence in sentences if sentence not in named]
    offered = [*named, *closest_sentences(question, others, MAX_OFFERED - len(named))]
    emit_status(f"Analyse réglementaire : choix des phrases qui répondent ({len(offered)} phrases, "
                f"{len(chunks)} extraits)…")
    block = sentences_block(offered, chunks)
    system = prompts.render("regulatory_analysis_pick", max_picked=str(MAX_PICKED), sentences=block)
    started = time.perf_counter()
    with get_usage_metadata_callback() as counter:
        try:
            # The GMP guide is a published text: its sentences are public, only the user's words are inspected.
            model = get_chat_model(spec.role, spec.sensitivity, guard=spec.guard, public=[block],
                                   schema=PickedSentences, overrides=context_of(runtime).models,
                                   max_tokens=PICK_MAX_TOKENS)
            reply = model.invoke([SystemMessage(system), HumanMessage(question)])
            numbers = PickedSentences.model_validate(reply).phrases
        except GuardRefused as refusal:
            return {"messages": [publish_answer(str(refusal))]}
        except SCHEMA_MISFIT as error:
            logger.warning("the model's choice of sentences does not fit the schema: %s", error)
            text = UNREADABLE.format(error=type(error).__name__) + sources_markdown(passage_sources(chunks))
            return {"messages": [publish_answer(text)]}
    usage = usage_total(counter.usage_metadata, started, 1)
    picks = valid_picks(numbers, offered)
    first_retrieved = state.get("named", 0) if named else 0  # the named paragraphs' extracts come first
    picked = list(dict.fromkeys([*(sentence.number for sentence in named), *anchor(picks, offered, first_retrieved),
                                 *picks]))
    picked = picked[:MAX_PICKED]
    emit_status(f"Analyse réglementaire : {len(picked)} phrase(s) retenue(s)", done=True)
    if not picked:
        return {"messages": [publish_answer(refusal_text(question, chunks, guide_collection(spec)))], "usage": usage}
    return {"picked": picked, "usage": usage}


def anchor(picks: list[int], offered: list[Sentence], first: int) -> list[int]:
    """The first extract's sentence closest to the question, when the model answers from other extracts only.

    The first extract (after any paragraph the question names) is what retrieval and reranking found best:
    « exigences pour la qualification des fournisseurs » retrieved Partie I §§5.27-5.29 first, and the embedded
    model, offered its sentences, quoted Annex 15 and the excipients' guideline instead. A refusal (no pick)
    stays a refusal: the anchor only joins an answer.
    """
    if not picks or any(sentence.number in picks for sentence in offered if sentence.passage == first):
        return []
    return next(([sentence.number] for sentence in offered if sentence.passage == first), [])


def valid_picks(numbers: list[int], offered: list[Sentence]) -> list[int]:
    """The sentences the numbers name (1 = the first offered), each once, in the model's order, at most MAX_PICKED.

    A number that names no offered sentence is dropped. Returned: the sentences' own numbers in the extracts.
    """
    positions = [number for number in numbers if 1 <= number <= len(offered)]
    return list(dict.fromkeys(offered[position - 1].number for position in positions))[:MAX_PICKED]


def route_after_picking(state: RegulatoryState) -> Literal["write_synthesis", "__end__"]:
    """No sentence picked: the refusal is the answer; otherwise the synthesis."""
    return "write_synthesis" if state.get("picked") else "__end__"


def write_synthesis(spec: AgentSpec, state: RegulatoryState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Two or three sentences that answer from the picked sentences alone (cleaned, never streamed raw)."""
    chunks = state["chunks"]
    passages = quoted_answer(_picked(state), chunks)
    emit_status("Analyse réglementaire : synthèse des passages retenus…")
    started = time.perf_counter()
    model = get_chat_model(spec.role, spec.sensitivity, guard=spec.guard, public=[passages],
                           overrides=context_of(runtime).models, max_tokens=SYNTHESIS_MAX_TOKENS)
    system = prompts.render("regulatory_analysis_synthesis", passages=passages)
    question = user_request(state["messages"])
    try:
        response = model.invoke([SystemMessage(system), HumanMessage(question)])
    except GuardRefused:  # the quotations answer without it
        return {"synthesis": ""}
    instructions = [prompts.load("regulatory_analysis_synthesis"), prompts.load("regulatory_analysis_pick")]
    cleaned = clean_synthesis(str(response.text), instructions, passages, question)
    synthesis = within_passages(cleaned, cited_chunks(_picked(state), chunks), guide_collection(spec))
    return {"synthesis": synthesis, "usage": usage_of(response, time.perf_counter() - started)}


def within_passages(synthesis: str, passages: list[Document], collection: str) -> str:
    """The synthesis without its sentences that cite a chapter or paragraph the passages shown do not carry.

    Such a reference comes from the model's memory, or does not exist: the sentence it supports is dropped
    whole, since the quotations below answer without it.
    """
    from retrievers.search import chapters_by_part, known_references

    chapters = {part: set(titles) for part, titles in chapters_by_part(collection).items()}
    known = known_references(collection)
    sentences = split_sentences(synthesis)
    kept = [sentence for sentence in sentences if not cites_beyond(sentence, passages, known, chapters)]
    if len(kept) < len(sentences):
        emit_status(f"Analyse réglementaire : {len(sentences) - len(kept)} phrase(s) de la synthèse retirée(s), "
                    "référence absente des passages cités", done=True)
    return " ".join(kept)


def assemble_answer(spec: AgentSpec, state: RegulatoryState) -> dict[str, Any]:
    """The synthesis, then the quotations with their references; checked like any answer, then published."""
    chunks, picked = state["chunks"], _picked(state)
    synthesis = state.get("synthesis") or ""
    quotations = quoted_answer(picked, chunks)
    text = (structured_answer(synthesis, quotations, picked, chunks) if state.get("structured")
            else "\n\n".join(piece for piece in (synthesis, quotations, f"Fiabilité : {RELIABILITY}") if piece))
    report = checked_answer(text, chunks, guide_collection(spec))
    sources = passage_sources(cited_chunks(picked, chunks))
    answer = report.answer.rstrip() + "\n\n" + sources_markdown(sources)
    return {"messages": [publish_answer(answer)], "sources": sources}


def structured_answer(synthesis: str, quotations: str, picked: list[Sentence], chunks: list[Document]) -> str:
    """The /bpf format's seven sections, filled in code from the picked sentences and the synthesis."""
    ordered = in_guide_order(picked, chunks)
    references = list(dict.fromkeys(sentence_reference(sentence, chunks) for sentence in ordered))
    parts = _parts(picked, chunks)
    comparison = (f"Une seule partie du guide est concernée : {next(iter(parts))}." if len(parts) == 1 else
                  f"Les passages retenus viennent de plusieurs parties du guide ({', '.join(parts)}) : leurs "
                  "exigences sont citées côte à côte sous « Détails ».")
    bodies = {
        "Parties concernées": "\n".join(f"- {part} : {', '.join(chapters)}" for part, chapters in parts.items()),
        "Références": "\n".join(f"- {reference}" for reference in references),
        "Synthèse": synthesis or "Voir les passages cités sous « Détails ».",
        "Comparaison entre parties": comparison,
        "Détails": quotations,
        "Citations exactes": f"Chaque point de « Détails » est cité mot pour mot du guide, suivi de sa référence "
                             f"({len(references)} référence(s)).",
        "Fiabilité": RELIABILITY,
    }
    titles = {"Références": "Références (partie, chapitre, section)"}
    return "\n\n".join(f"## {titles.get(name, name)}\n{bodies[name]}" for name in STRUCTURED_SECTIONS)


def _parts(picked: list[Sentence], chunks: list[Document]) -> dict[str, list[str]]:
    """Each part the picked sentences come from (« Partie I », « Annexes »), with its chapters, in the guide's order."""
    parts: dict[str, list[str]] = {}
    for chunk in cited_chunks(picked, chunks):
        part = chunk.metadata.get("part") or ""
        part_label = part if part in ("Annexes", "") else f"Partie {part}"
        title = chunk.metadata.get("chapter_title")
        chapter = reference_label({**chunk.metadata, "paragraph": ""}).removeprefix(f"{part_label}, ")
        named = chapter + (f" ({title})" if title else "")
        if named not in parts.setdefault(part_label or "Guide", []):
            parts[part_label or "Guide"].append(named)
    return parts


def _picked(state: RegulatoryState) -> list[Sentence]:
    """The sentences the model picked, with the items of the lists they announce."""
    numbers = set(state.get("picked") or [])
    sentences = numbered_sentences(state["chunks"])
    return with_their_lists([sentence for sentence in sentences if sentence.number in numbers], sentences)
