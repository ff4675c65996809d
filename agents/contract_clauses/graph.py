"""The contract-clauses agent's graph: find library clauses → draft or review (structured) → verify and render.

The model answers in a schema (the clause, the library ids it started from, its deviations with their
risk, the points for legal review); code then reads the ids it cites (« ASS-01 — ASSURANCES – … » is
ASS-01) and checks them against the clauses actually retrieved, finds the clause the draft started from,
checks it has the request's subject, computes the deviations from it, drops the model's praise of its
own text, and renders the answer in Markdown (`rendering`, `checks`).

A contract attached in Open WebUI (`relais.attachments`) is reviewed clause by clause instead
(`contract_review`): each clause is matched to the library and its deviations computed, and the model,
given the clause and its library clause fenced as data, adds the legal-review points and a risk.
"""

from __future__ import annotations

import re
import time
from functools import partial
from typing import Annotated, Any, Literal, NotRequired

from langchain_core.callbacks import get_usage_metadata_callback
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, BeforeValidator, Field

import prompts
from agents.base import AgentSpec
from agents.contract_clauses.checks import library_entry, review_points
from agents.contract_clauses.contract_review import (
    MAX_CONTRACT_CLAUSES,
    ContractClause,
    ReviewedClause,
    clause_deviations,
    clause_subject,
    matching_clause,
    render_contract_review,
    split_contract,
)
from agents.contract_clauses.rendering import render_answer
from relais.attachments import attached_request, fenced_conversation
from relais.context import Context, context_of
from relais.events import emit_sources, emit_status
from relais.guard import fence_untrusted
from relais.models.catalog import SCHEMA_MISFIT, get_chat_model
from relais.models.guarded import GuardRefused
from relais.publish import publish_answer, usage_total
from relais.settings import get_settings
from relais.sources import Source
from relais.state import AgentInput, AgentOutput, AgentState
from retrievers.clauses import clauses_of_type, request_subject


def normalize_risk(value: object) -> str:
    """Small models write `eleve`, `élevée`, `high`...: map them to the three levels, else `non précisé`."""
    text = str(value).strip().lower()
    for level, marks in (("élevé", ("lev", "high", "fort", "crit")), ("moyen", ("moy", "med", "modér")),
                         ("faible", ("faib", "low", "bas", "mineur"))):
        if any(mark in text for mark in marks):
            return level
    return "non précisé"


# The enum stays in the JSON schema (a grammar-constrained local model can only write these values);
# validation maps anything else instead of rejecting the whole answer.
Risk = Annotated[Literal["faible", "moyen", "élevé", "non précisé"], BeforeValidator(normalize_risk)]
# Whole clauses are long (about 600 tokens each): more than four crowd a small local model's context.
MAX_LIBRARY_CLAUSES = 4
INGEST_COMMAND = "relais ingest --collection clauses --source knowledge/clauses"
NO_LIBRARY = (f"La bibliothèque de clauses n'est pas indexée : je ne peux pas rédiger ni revoir de clause sans "
              f"elle. Demandez à l'administrateur de lancer `{INGEST_COMMAND}`, puis reposez votre question.")
EMPTY_LIBRARY = (f"Aucune clause de la bibliothèque ne correspond à cette demande. Précisez le type de clause "
                 f"(confidentialité, audit BPF, RGPD...) ou vérifiez l'index (`{INGEST_COMMAND}`).")
NO_REQUEST = ("Décrivez la clause à rédiger (type, contexte, cocontractant, droit applicable) ou collez la clause "
              "à revoir, par exemple : « Rédige une clause d'audit BPF pour un façonnier en Italie ».")
UNUSABLE_CLAUSE_REVIEW = ("Le modèle n'a pas rendu d'analyse exploitable pour cette clause : seuls les écarts "
                          "calculés figurent.")
EMPTY_CONTRACT = "Le document joint « {name} » ne contient aucun texte : rien à comparer à la bibliothèque."
TOO_LONG = ("Votre demande fait {length} caractères, au-delà de la limite de {limit} : soumettez les clauses à "
            "revoir une par une.")
UNUSABLE = ("Le modèle n'a pas produit de réponse exploitable pour cette clause. Reformulez la demande, ou "
            "consultez directement les clauses de la bibliothèque listées dans les sources.")
# What a model that answered, but not in the schema, raises: said plainly (UNUSABLE). Anything else is the
# model failing once the catalog's retries and fallbacks are spent: the run fails, audited as an error.
UNUSABLE_ANSWER = SCHEMA_MISFIT
_REVIEW = re.compile(r"\b(relis|relire|relecture|revois|revoir|revue|analyse[rz]?|vérifie[rz]?|commente[rz]?|"
                     r"amende[rz]?|review|check)\b", re.IGNORECASE)

# A review request is its first sentence; the pasted clause after it names other subjects in passing
# (a confidentiality clause mentions audits), which must not decide what the clause is about.
_REQUEST_SENTENCE = re.compile(r"[.?!:\n]")


class Deviation(BaseModel):
    """One difference from a library clause, as the model declares it."""

    clause_id: str = Field(default="", description="Identifiant de la clause de la bibliothèque concernée, ex. CONF-01")
    description: str = Field(default="", description="Ce qui change par rapport à la clause de la bibliothèque")
    risk: Risk = Field(description="Risque pour l'entreprise : faible, moyen ou élevé")


class ClauseAnswer(BaseModel):
    """The drafted or reviewed clause and what it is based on."""

    title: str = Field(description="Titre de la clause")
    clause_text: str = Field(description="Texte complet de la clause, articles numérotés")
    based_on: list[str] = Field(default_factory=list, description="Identifiants des clauses de la bibliothèque")
    deviations: list[Deviation] = Field(default_factory=list)
    legal_review_points: list[str] = Field(default_factory=list)


class ClauseReview(BaseModel):
    """The model's review of one clause of an attached contract."""

    risk: Risk = Field(description="Risque de cette clause pour l'entreprise : faible, moyen ou élevé")
    legal_review_points: list[str] = Field(default_factory=list, description="Points à faire valider par le juriste")


class ClauseState(AgentState):
    """The agent's working state: the task and the library clauses retrieved for it."""

    mode: NotRequired[Literal["draft", "review", "contract"]]
    contract: NotRequired[dict[str, Any]]  # an attached contract: its name, preamble and clauses
    subject: NotRequired[str | None]
    library: NotRequired[list[dict[str, str]]]
    answer: NotRequired[dict[str, Any] | None]


def asks_contract_review(request: str) -> bool:
    """Whether the words sent with an attached document ask to review it (or nothing else: a review too)."""
    return not request.strip() or bool(_REVIEW.search(request))


def request_mode(text: str) -> Literal["draft", "review"]:
    """`review` when the user pastes a clause and asks for a review; `draft` otherwise."""
    return "review" if len(text) > 300 and _REVIEW.search(text[:300]) else "draft"


def find_library_clauses(question: str, k: int) -> list[dict[str, str]]:
    """The library clauses closest to the request (`CollectionNotFound` when the library is not indexed)."""
    from retrievers.clauses import CLAUSES_COLLECTION
    from retrievers.search import search

    keys = {"id": "clause_id", "title": "title", "type": "clause_type", "jurisdiction": "jurisdiction", "risk": "risk"}
    return [{**{name: str(hit.metadata.get(key, "")) for name, key in keys.items()}, "text": hit.text,
             "score": str(round(hit.score, 4))}
            for hit in search(CLAUSES_COLLECTION, question[:2000], k=k) if hit.metadata.get("clause_id")]


def clause_sources(library: list[dict[str, str]]) -> list[Source]:
    """The retrieved clauses as sources, titled with their ids."""
    return [Source(title=clause["title"], text=clause["text"],
                   metadata={"clause_id": clause["id"], "type": clause["type"], "jurisdiction": clause["jurisdiction"],
                             "risk": clause["risk"], "score": float(clause["score"])}) for clause in library]


def gather_clauses(spec: AgentSpec, state: ClauseState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Check the request, then find the library clauses it is about (their absence is the answer)."""
    from retrievers.search import CollectionNotFound

    attached = attached_request(state["messages"])
    if attached.has_documents and asks_contract_review(attached.request):
        return read_contract(spec, attached.documents[0].name, attached.documents[0].text)
    text = attached.request.strip()  # an attachment asked about otherwise reaches the model fenced (clause_messages)
    limit = get_settings().clauses_max_chars
    if not text:
        return {"messages": [publish_answer(NO_REQUEST)]}
    if len(text) > limit:
        return {"messages": [publish_answer(TOO_LONG.format(length=len(text), limit=limit))]}
    emit_status(f"{spec.title} : recherche dans la bibliothèque de clauses…")
    try:
        library = find_library_clauses(text, min(context_of(runtime).top_k, MAX_LIBRARY_CLAUSES))
    except CollectionNotFound:
        emit_status(f"{spec.title} : bibliothèque de clauses non indexée", done=True)
        return {"messages": [publish_answer(NO_LIBRARY)]}
    mode = request_mode(text)
    subject = request_subject(text if mode == "draft" else _REQUEST_SENTENCE.split(text, maxsplit=1)[0])
    library = with_subject_clauses(library, subject, MAX_LIBRARY_CLAUSES)
    if not library:
        return {"messages": [publish_answer(EMPTY_LIBRARY)]}
    sources = clause_sources(library)
    emit_sources(sources)
    return {"mode": mode, "library": library, "sources": sources, "subject": subject}


def with_subject_clauses(library: list[dict[str, str]], subject: str | None, limit: int) -> list[dict[str, str]]:
    """The retrieved clauses, on-subject ones first; when the search found none, the library's own, from disk.

    A similarity search can rank the insurance clause above every confidentiality clause; the model then
    drafts from what it is shown, so the clause of the request's subject must be among them.
    """
    if not subject:
        return library
    on_subject = [clause for clause in library if clause["type"] == subject]
    if not on_subject:
        on_subject = [library_entry(metadata, text) for metadata, text in clauses_of_type(subject)[:2]]
    others = [clause for clause in library if clause not in on_subject]
    return [*on_subject, *others][:limit]



def draft_clause(spec: AgentSpec, state: ClauseState, runtime: Runtime[Context]) -> dict[str, Any]:
    """The model drafts or reviews the clause in the `ClauseAnswer` schema (None when it does not fit)."""
    context = context_of(runtime)
    emit_status(f"{spec.title} : {'revue' if state['mode'] == 'review' else 'rédaction'} de la clause…")
    started = time.perf_counter()
    with get_usage_metadata_callback() as usage:
        try:
            # The library's clauses are the company's own templates (no personal data; a confidentiality
            # clause says « strictement confidentielles » without marking anything): only the user's text
            # is inspected, as the GMP guide's extracts are for the regulatory agent.
            library = [clause["text"] for clause in state["library"]]
            model = get_chat_model(spec.role, spec.sensitivity, guard=spec.guard, schema=ClauseAnswer,
                                   public=library, overrides=context.models)
            answer = model.invoke(clause_messages(state))
        except GuardRefused as refusal:
            return {"messages": [publish_answer(str(refusal))]}
        except UNUSABLE_ANSWER:  # an answer that does not fit the schema: said plainly, never half-rendered
            answer = None
    return {"answer": answer.model_dump() if isinstance(answer, ClauseAnswer) else None,
            "usage": usage_total(usage.usage_metadata, started, 1)}


def verify_clause(spec: AgentSpec, state: ClauseState) -> dict[str, Any]:
    """Check the cited ids against the clauses retrieved and publish the rendered answer."""
    if not state.get("answer"):
        return {"messages": [publish_answer(UNUSABLE)]}
    answer = ClauseAnswer.model_validate(state["answer"])
    text = render_answer(answer, state["library"], state["mode"], attached_request(state["messages"]).request,
                         state.get("subject"))
    emit_status(f"{spec.title} : clause vérifiée", done=True)
    return {"messages": [publish_answer(text)]}


def route_after_gather(state: ClauseState) -> Literal["draft_clause", "review_contract", "__end__"]:
    """An answer already published (refusal, no library) ends the run; an attached contract is reviewed."""
    if isinstance(state["messages"][-1], AIMessage):
        return "__end__"
    return "review_contract" if state.get("mode") == "contract" else "draft_clause"


def read_contract(spec: AgentSpec, name: str, text: str) -> dict[str, Any]:
    """Cut an attached contract into its clauses (none: said plainly)."""
    preamble, clauses = split_contract(text)
    if not clauses:
        return {"messages": [publish_answer(EMPTY_CONTRACT.format(name=name))]}
    emit_status(f"{spec.title} : « {name} », {len(clauses)} clause(s) à comparer à la bibliothèque…")
    return {"mode": "contract", "contract": {"name": name, "preamble": preamble,
                                             "clauses": [[clause.heading, clause.text] for clause in clauses]}}


def review_contract(spec: AgentSpec, state: ClauseState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Review each clause of the attached contract against the library, then publish the whole review."""
    from retrievers.search import CollectionNotFound

    context, contract = context_of(runtime), state["contract"]
    clauses = [ContractClause(heading, text) for heading, text in contract["clauses"]]
    reviewed: list[ReviewedClause] = []
    started = time.perf_counter()
    with get_usage_metadata_callback() as usage:
        try:
            model = get_chat_model(spec.role, spec.sensitivity, guard=spec.guard, schema=ClauseReview,
                                   overrides=context.models)
            for number, clause in enumerate(clauses[:MAX_CONTRACT_CLAUSES], start=1):
                emit_status(f"{spec.title} : clause {number}/{min(len(clauses), MAX_CONTRACT_CLAUSES)}…")
                reviewed.append(review_one_clause(model, clause, min(context.top_k, MAX_LIBRARY_CLAUSES)))
        except CollectionNotFound:
            return {"messages": [publish_answer(NO_LIBRARY)]}
        except GuardRefused as refusal:
            return {"messages": [publish_answer(str(refusal))]}
    sources = clause_sources(list({item.base["id"]: item.base for item in reviewed if item.base}.values()))
    emit_sources(sources)
    emit_status(f"{spec.title} : contrat revu", done=True)
    text = render_contract_review(contract["name"], reviewed, contract["preamble"],
                                  max(0, len(clauses) - MAX_CONTRACT_CLAUSES))
    return {"messages": [publish_answer(text)], "sources": sources,
            "usage": usage_total(usage.usage_metadata, started, len(reviewed))}


def review_one_clause(model: Any, clause: ContractClause, k: int) -> ReviewedClause:
    """Match one clause to the library, compute its deviations, and ask the model for its review points."""
    subject = clause_subject(clause)
    candidates = with_subject_clauses(find_library_clauses(clause.text, k), subject, k)
    base, score = matching_clause(clause, candidates, subject)
    item = ReviewedClause(clause, base, score, clause_deviations(clause, base))
    try:
        review = model.invoke(contract_clause_messages(item))
    except UNUSABLE_ANSWER:
        review = None
    if isinstance(review, ClauseReview):
        item.risk, item.points = review.risk, review_points(review.legal_review_points)
    else:
        item.note = UNUSABLE_CLAUSE_REVIEW
    return item


def contract_clause_messages(item: ReviewedClause) -> list[Any]:
    """The system prompt, then the contract's clause and its library clause, both fenced as data."""
    clause = fence_untrusted(item.clause.text, f"contrat : {item.clause.heading}")
    library = fence_untrusted(item.base["text"], item.base["title"]) if item.base else "(aucune clause retrouvée)"
    deviations = "\n".join(f"- {deviation}" for deviation in item.deviations) or "(aucun écart calculé)"
    human = prompts.render("contract_clauses_contract_review", clause=clause, library=library, deviations=deviations)
    return [SystemMessage(prompts.load("contract_clauses")), HumanMessage(human)]


def build_contract_clauses_graph(spec: AgentSpec):  # noqa: ANN201 - CompiledStateGraph generics are noisy
    """Compile: gather_clauses → draft_clause → verify_clause, or gather_clauses → review_contract."""
    builder = StateGraph(ClauseState, context_schema=Context, input_schema=AgentInput, output_schema=AgentOutput)
    builder.add_node("gather_clauses", partial(gather_clauses, spec))
    builder.add_node("draft_clause", partial(draft_clause, spec))
    builder.add_node("verify_clause", partial(verify_clause, spec))
    builder.add_node("review_contract", partial(review_contract, spec))
    builder.add_edge(START, "gather_clauses")
    builder.add_conditional_edges("gather_clauses", route_after_gather)
    builder.add_edge("draft_clause", "verify_clause")
    builder.add_edge("verify_clause", END)
    builder.add_edge("review_contract", END)
    return builder.compile(name=spec.label)


def clause_messages(state: ClauseState) -> list[Any]:
    """The system prompt, the conversation, then the task with the library clauses fenced as data."""
    clauses = "\n\n".join(fence_untrusted(clause["text"], clause["title"]) for clause in state["library"])
    task = prompts.load("contract_clauses_review" if state["mode"] == "review" else "contract_clauses_draft")
    deliverable = "revue, corrigée" if state["mode"] == "review" else "rédigée"
    human = prompts.render("contract_clauses_task", task=task, clauses=clauses, deliverable=deliverable)
    conversation = fenced_conversation(state["messages"])  # an attached document is data, never instructions
    return [SystemMessage(prompts.load("contract_clauses")), *conversation, HumanMessage(human)]
