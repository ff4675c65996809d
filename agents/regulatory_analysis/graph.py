"""The regulatory-analysis agent: GMP-guide extracts → an answer with verified citations.

A question that compares parts of the guide (« partie I et partie II », « annexe 1 et annexe 15 ») gets
one search per part, and the model its extracts grouped by part (comparison.py). When retrieval finds
nothing relevant enough, the agent says the guide does not cover the question instead of extrapolating.

Then the path depends on the size of the role's model (`relais.models.catalog.answers_on_small_model`):
- a capable model (Mistral, a larger local model) drafts the answer, never streamed: every reference and
  quotation is first checked against the extracts and the index (a reference no extract carries is removed,
  a quote not found verbatim is removed, a reference that does not exist is flagged), then the verified
  answer is sent with one source per passage;
- a small model (the embedded one) gets the extract-first answer (extract_first.py): it picks the sentences
  that answer, code quotes them with their references, and its short synthesis goes through the same checks.
"""

from __future__ import annotations

import math
import time
from functools import partial
from typing import Any, Literal

from langchain_core.documents import Document
from langchain_core.messages import AIMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

import prompts
from agents.base import AgentSpec
from agents.regulatory_analysis.comparison import (
    Scope,
    compared_scopes,
    grouped_extracts,
    index_scope,
    without_scopes,
)
from agents.regulatory_analysis.extract_first import (
    assemble_answer,
    pick_sentences,
    route_after_picking,
    write_synthesis,
)
from agents.regulatory_analysis.refusal import refusal_text
from agents.regulatory_analysis.state import RegulatoryState, guide_collection
from relais.attachments import fenced_conversation, user_request
from relais.context import Context, context_of
from relais.events import emit_sources, emit_status
from relais.models.catalog import answers_on_small_model, get_chat_model
from relais.publish import usage_of
from relais.state import AgentInput, AgentOutput

MIN_PER_PART = 2  # extracts per compared part: one passage alone often misses half of a requirement


def retrieve_extracts(spec: AgentSpec, state: RegulatoryState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Fetch the paragraphs the question names, search the guide (each compared part on its own).

    With neither a named paragraph nor a passage close enough, say the guide does not cover the question.
    """
    from agents.regulatory_analysis.references import passage_sources
    from retrievers.search import CollectionNotFound, is_covered, relevance_threshold, search

    question, collection, top_k = user_request(state["messages"]), guide_collection(spec), context_of(runtime).top_k
    emit_status("Analyse réglementaire : recherche dans le guide BPF…")
    try:
        compared = compared_parts(question, collection)
        hits = search_each_part(collection, question, compared, top_k) if compared else search(
            collection, question, k=top_k)
    except CollectionNotFound as error:
        return {"messages": [AIMessage(content=f"Le guide BPF n'est pas indexé sur ce serveur : {error}")]}
    named = cited_paragraphs(question, collection)
    if not named and not is_covered(hits, relevance_threshold(question)):
        emit_status("Analyse réglementaire : aucun passage assez proche dans le guide", done=True)
        return {"messages": [AIMessage(content=refusal_text(question, hits, collection))]}
    chunks = [*named, *(hit.document for hit in hits)]  # the named paragraphs first, then the context
    emit_sources(passage_sources(chunks))
    return {"chunks": chunks, "named": len(named), "compared": [{"label": scope.label, "part": part, "chapter": chapter}
                                           for scope, (part, chapter) in compared]}


def compared_parts(question: str, collection: str) -> list[tuple[Scope, tuple[str, str | None]]]:
    """The parts a comparison question names that the guide has, each with its index filter.

    A named part the guide lacks is said in the status; with fewer than two left, the question is
    searched as any other.
    """
    from retrievers.search import chapters_by_part

    scopes = compared_scopes(question)
    if not scopes:
        return []
    chapters = chapters_by_part(collection)
    found = [(scope, index_scope(scope, chapters)) for scope in scopes]
    for scope, where in found:
        if where is None:
            emit_status(f"Analyse réglementaire : {scope.label} n'existe pas dans le guide", done=True)
    kept = [(scope, where) for scope, where in found if where is not None]
    return kept if len(kept) >= 2 else []


def search_each_part(collection: str, question: str, compared: list[tuple[Scope, tuple[str, str | None]]],
                     top_k: int) -> list[Any]:
    """One search per compared part for the question's topic, the extracts' budget shared (MIN_PER_PART at least)."""
    from retrievers.search import search

    per_part = max(MIN_PER_PART, math.ceil(top_k / len(compared)))
    topic = without_scopes(question)
    hits = []
    for scope, where in compared:
        where_said = f"la {scope.label}" if scope.label.startswith("Partie") else f"l'{scope.label}"
        emit_status(f"Analyse réglementaire : comparaison, recherche dans {where_said}…")
        hits += search(collection, topic, k=per_part, within=[where])
    return hits


def cited_paragraphs(question: str, collection: str) -> list[Document]:
    """The paragraphs the question names, fetched by reference: a step that must happen every time.

    The graph calls `get_paragraph`'s lookup itself rather than hoping a model asks for it; a reference
    that does not exist is said in the status, and the search below still answers.
    """
    from agents.regulatory_analysis.paragraphs import (
        ParagraphNotFound,
        find_paragraph,
        question_paragraphs,
        scope_label,
    )

    documents = []
    for part, number in question_paragraphs(question):
        emit_status(f"Analyse réglementaire : outil « get_paragraph » ({scope_label(part)}, §{number})…")
        try:
            documents.append(find_paragraph(part, number, collection).document())
        except ParagraphNotFound as error:
            emit_status(f"Analyse réglementaire : {error}", done=True)
    return documents


def draft_answer(spec: AgentSpec, state: RegulatoryState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the reasoning model for an answer grounded in the extracts (not streamed: verified first)."""
    from retrievers.citations import format_extracts

    context = context_of(runtime)
    compared = state.get("compared") or []
    extracts = grouped_extracts(state["chunks"], compared) if compared else format_extracts(state["chunks"])
    prompt = prompts.render("regulatory_analysis", extracts=extracts)
    if compared:
        labels = ", ".join(str(scope["label"]) for scope in compared)
        prompt += "\n\n" + prompts.render("regulatory_analysis_comparison", parts=labels)
    if state.get("structured"):
        prompt += "\n\n" + prompts.load("regulatory_analysis_structured")
    emit_status(f"Analyse réglementaire : rédaction à partir de {len(state['chunks'])} extraits…")
    started = time.perf_counter()
    # The GMP guide is a published text: its extracts are public, only the user's messages are inspected.
    model = get_chat_model(spec.role, spec.sensitivity, guard=spec.guard, public=[extracts], overrides=context.models)
    response = model.invoke([SystemMessage(prompt), *fenced_conversation(state["messages"])])
    return {"messages": [response], "usage": usage_of(response, time.perf_counter() - started)}


def verify_citations(spec: AgentSpec, state: RegulatoryState) -> dict[str, Any]:
    """Check every reference and quotation of the draft, then append the sources the answer relies on."""
    from agents.regulatory_analysis.references import checked_answer, passage_sources, warn_if_uncited
    from retrievers.citations import sources_markdown

    draft = state["messages"][-1]
    report = checked_answer(str(draft.content), state["chunks"], guide_collection(spec))
    sources = passage_sources(report.supporting_chunks or state["chunks"])
    text = warn_if_uncited(report).rstrip() + "\n\n" + sources_markdown(sources)
    return {"messages": [AIMessage(content=text, id=draft.id)], "sources": sources}


def route_after_retrieval(spec: AgentSpec, state: RegulatoryState,
                          runtime: Runtime[Context]) -> Literal["draft_answer", "pick_sentences", "__end__"]:
    """A refusal (or a missing index) ends the run; a small model answers extract-first; another drafts."""
    if not state.get("chunks"):
        return "__end__"
    small = answers_on_small_model(spec.role, spec.sensitivity, context_of(runtime).models)
    return "pick_sentences" if small else "draft_answer"


def build_regulatory_graph(spec: AgentSpec):  # noqa: ANN201
    """Compile the regulatory agent's graph: retrieval, then the generative or the extract-first answer."""
    builder = StateGraph(RegulatoryState, context_schema=Context, input_schema=AgentInput, output_schema=AgentOutput)
    builder.add_node("retrieve_extracts", partial(retrieve_extracts, spec))
    builder.add_node("draft_answer", partial(draft_answer, spec))
    builder.add_node("verify_citations", partial(verify_citations, spec))
    builder.add_node("pick_sentences", partial(pick_sentences, spec))
    builder.add_node("write_synthesis", partial(write_synthesis, spec))
    builder.add_node("assemble_answer", partial(assemble_answer, spec))
    builder.add_edge(START, "retrieve_extracts")
    builder.add_conditional_edges("retrieve_extracts", partial(route_after_retrieval, spec),
                                  ["draft_answer", "pick_sentences", END])
    builder.add_edge("draft_answer", "verify_citations")
    builder.add_edge("verify_citations", END)
    builder.add_conditional_edges("pick_sentences", route_after_picking, ["write_synthesis", END])
    builder.add_edge("write_synthesis", "assemble_answer")
    builder.add_edge("assemble_answer", END)
    return builder.compile(name=spec.label)
