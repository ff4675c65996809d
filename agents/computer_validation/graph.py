"""The computer-validation agent: check → retrieve Annex 11/15 → draft each deliverable → compute → export.

The deliverable is decided from the request (URS, AMDEC, IQ/OQ/PQ scripts, matrix or a full
package); each is one structured-output call, in order, each seeing the ids of the previous ones.
What must be exact is computed by the agent's tools as soon as a draft comes back, every time: the
RPN and risk class of every FMEA row (`fmea_risk_priority`; an RPN the model wrote is replaced and
the replacement reported) and the GAMP 5 category (`gamp_software_category`), one status event per
tool step. A question that asks for no deliverable gets a streamed answer grounded on the extracts,
during which the model may call the same tools itself (where it supports tool calls).

On a thread, the drafted deliverables are shown as the user will get them and the run pauses
(relais/approval.py): « valider » writes the Word (and Excel) files and records the approval with
each file's SHA-256; any other reply is the change asked, and every deliverable is drafted again
(the tools recompute the RPNs of the new FMEA). A stateless request exports at once.

A document attached in Open WebUI (a specification) is the drafts' input, fenced as data; the
user's own words decide the deliverable and the retrieval.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any, Literal, NotRequired, cast

from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

import prompts
from agents.answer import answer_update, format_extracts
from agents.base import AgentSpec
from agents.computer_validation.documents import RenderedDeliverables, rate_risks, render_deliverables
from agents.computer_validation.schemas import FmeaDraft, GampDraft, QualificationDraft, UrsDraft
from agents.computer_validation.spreadsheets import export_xlsx
from agents.computer_validation.validation import (
    fmea_risk_priority,
    gamp_software_category,
    ratings_in,
    requirement_id,
    risk_id,
)
from agents.generic import route_after_draft, run_tools
from relais.approval import nothing_pending, on_thread, record_approval, review_draft
from relais.attachments import AttachedDocument, attached_request, fenced_conversation
from relais.context import Context, context_of
from relais.deliverables import (
    DraftingError,
    answer_message,
    draft_structured,
    export_source,
    load_template,
    screen_request,
)
from relais.documents import ExportedFile, export_docx, to_markdown
from relais.events import emit_sources, emit_status
from relais.publish import publish_answer
from relais.settings import get_settings
from relais.state import AgentInput, AgentOutput, AgentState

SUPPORTED_FORMATS = ("docx", "xlsx", "md")
MAX_EXTRACTS = 4  # the embedded model has an 8k context: extracts, template and output must fit

Deliverable = Literal["urs", "fmea", "tests", "gamp", "package", "advice"]
PLANS: dict[str, tuple[str, ...]] = {
    "urs": ("urs",), "fmea": ("fmea",), "tests": ("tests",), "gamp": ("gamp",),
    "package": ("urs", "fmea", "tests"), "advice": (),
}
DELIVERABLE_NAMES = {
    "urs": "URS", "fmea": "AMDEC", "tests": "scripts IQ/OQ/PQ", "gamp": "catégorie GAMP 5",
    "package": "dossier complet (URS, AMDEC, scripts, matrice de traçabilité)", "advice": "réponse argumentée",
}
DRAFTS: dict[str, tuple[type, str, str]] = {  # step: (schema, prompt and template name, what the user sees)
    "urs": (UrsDraft, "urs", "spécification des exigences (URS)"),
    "fmea": (FmeaDraft, "amdec", "analyse de risques (AMDEC)"),
    "tests": (QualificationDraft, "qualification", "scripts de qualification IQ/OQ/PQ"),
    "gamp": (GampDraft, "gamp5", "catégorisation GAMP 5"),
}
_WANTS = {
    "traceability": re.compile(r"matrice|tra[çc]abilit|traceability", re.IGNORECASE),
    "package": re.compile(r"\bpackage\b|dossier (de validation|complet)|tous les livrables", re.IGNORECASE),
    "urs": re.compile(r"\burs\b|exigences? utilisateurs?|cahier des charges|user requirement", re.IGNORECASE),
    "fmea": re.compile(r"amdec|\bfmea\b|analyse (de|des) risques?|risk assessment", re.IGNORECASE),
    "tests": re.compile(r"\b[IOP]Q\b|scripts? de (test|qualification)|protocoles? de (test|qualification)|"
                        r"cas de test", re.IGNORECASE),
    "gamp": re.compile(r"\bgamp\b|cat[ée]gorie", re.IGNORECASE),
}
_DRAFTING_VERB = re.compile(r"\b(r[ée]dige|produi|g[ée]n[èe]re|[ée]tabli|pr[ée]pare|fai[st]|cr[ée]e|[ée]cri|"
                            r"propose|donne|fourni|draft|write|create)", re.IGNORECASE)


def choose_deliverable(text: str) -> Deliverable:
    """What the request asks for; a question that asks for no document is `advice`."""
    wanted = {name for name, pattern in _WANTS.items() if pattern.search(text)}
    if "?" in text and not _DRAFTING_VERB.search(text):
        return "advice"
    documents = wanted & {"urs", "fmea", "tests"}
    if "package" in wanted or "traceability" in wanted or len(documents) > 1:
        return "package"
    if documents:
        return cast(Deliverable, documents.pop())
    return "gamp" if "gamp" in wanted else "advice"


class ValidationState(AgentState):
    """The working state: the plan, each structured draft as it is produced, the attached documents' names."""

    deliverable: NotRequired[str]
    drafts: NotRequired[dict[str, dict[str, Any]]]  # replaced whole: a redraft starts again from none
    attachments: NotRequired[list[str]]
    approved: NotRequired[bool]


def check_request(spec: AgentSpec, state: ValidationState) -> Command:
    """Refuse what cannot go ahead (« valider » with nothing pending too), else decide the deliverable.

    The user's own words are screened and decide; an attached document is data, only its size is checked.
    """
    if (pending := nothing_pending(state["messages"])) is not None:
        return pending
    attached = attached_request(state["messages"])
    text, refusal = screen_request(spec.title, [HumanMessage(attached.request)], SUPPORTED_FORMATS)
    if refusal is not None or (refusal := attachment_refusal(spec, attached.documents)) is not None:
        return refusal
    deliverable = choose_deliverable(text)
    emit_status(f"{spec.title} : livrable — {DELIVERABLE_NAMES[deliverable]}")
    names = [document.name for document in attached.documents]
    if names:
        emit_status(f"{spec.title} : document(s) joint(s) pris comme données d'entrée — {', '.join(names)}")
    return Command(goto="gather_extracts", update={"deliverable": deliverable, "attachments": names})


def attachment_refusal(spec: AgentSpec, documents: tuple[AttachedDocument, ...]) -> Command | None:
    """Attached documents too long for a drafting call are refused by name, before any model sees them."""
    limit = get_settings().agent_request_max_chars
    if sum(len(document.text) for document in documents) <= limit:
        return None
    sizes = ", ".join(f"« {document.name} » ({_thousands(len(document.text))} caractères)" for document in documents)
    emit_status(f"{spec.title} : document joint trop long", done=True)
    refusal = (f"{spec.title} : le document joint dépasse la limite de {_thousands(limit)} caractères : {sizes}. "
               "Joignez la partie utile (les exigences du système) ou un résumé.")
    return Command(goto=END, update={"messages": [answer_message(refusal)]})


def _thousands(number: int) -> str:
    return f"{number:,}".replace(",", "\u202f")


def gather_extracts(spec: AgentSpec, state: ValidationState, runtime: Runtime[Context]) -> dict[str, Any]:
    """The Annex 11 (and Annex 15 for qualification) extracts the deliverable cites."""
    if spec.retrieve is None:
        return {}
    emit_status(f"{spec.title} : recherche dans les BPF (Annexes 11 et 15)…")
    focus = "Annexe 15 qualification" if state["deliverable"] in ("tests", "package") else ""
    request = attached_request(state["messages"]).request  # the user's words, not an attached document
    query = f"{request[:600]} Annexe 11 systèmes informatisés {focus}"
    sources = spec.retrieve(query, min(context_of(runtime).top_k, MAX_EXTRACTS))
    emit_sources(sources)
    return {"extracts": format_extracts(sources), "sources": sources}


def draft_deliverable(spec: AgentSpec, state: ValidationState, runtime: Runtime[Context]) -> Command:
    """Draft the plan's next deliverable (structured output), seeing the ids of the ones before it."""
    drafts = state.get("drafts", {})
    step = next(step for step in PLANS[state["deliverable"]] if step not in drafts)
    schema, name, what = DRAFTS[step]
    emit_status(f"{spec.title} : rédaction — {what}…")
    system = _system(spec, name, state.get("extracts", ""), attached=bool(state.get("attachments")))
    # an attached document stays fenced as data in every round, the redrafts' too
    messages = [system, *fenced_conversation(state["messages"])]
    if earlier := earlier_deliverables(drafts):
        messages.append(HumanMessage(earlier))
    try:
        draft, usage = draft_structured(schema, messages, role=spec.role, sensitivity=spec.sensitivity,
                                        guard=spec.guard, overrides=context_of(runtime).models)
    except DraftingError as error:
        emit_status(f"{spec.title} : échec de la rédaction", done=True)
        return Command(goto=END, update={"messages": [answer_message(str(error))]})
    draft = computed_by_tools(spec, draft)  # on every draft, redrafts included
    remaining = [s for s in PLANS[state["deliverable"]] if s not in drafts and s != step]
    return Command(goto="draft_deliverable" if remaining else "review_deliverables",
                   update={"drafts": {**drafts, step: draft.model_dump()}, "usage": usage})


def computed_by_tools(spec: AgentSpec, draft: Any) -> Any:
    """The draft with what must be exact computed by the tools: every FMEA row's RPN, the GAMP category."""
    if isinstance(draft, FmeaDraft):
        return rate_with_tool(spec, draft)
    if isinstance(draft, UrsDraft | GampDraft):
        return categorise_with_tool(spec, draft)
    return draft


def rate_with_tool(spec: AgentSpec, fmea: FmeaDraft) -> FmeaDraft:
    """Every row's RPN (S×O×D) and class from `fmea_risk_priority`; an RPN the model wrote is replaced."""
    rows, corrections = [], []
    for number, row in enumerate(fmea.failure_modes, start=1):
        ratings = {"severity": row.severity, "occurrence": row.occurrence, "detectability": row.detectability}
        computed = _run_tool(fmea_risk_priority, ratings, f"rpn-{number}")
        if row.rpn is not None and row.rpn != computed["rpn"]:
            corrections.append(f"{risk_id(number)} : {row.rpn} → {computed['rpn']} "
                               f"({row.severity}×{row.occurrence}×{row.detectability})")
        rows.append(row.model_copy(update=computed))
    replaced = f", {len(corrections)} valeur(s) écrite(s) par le modèle remplacée(s)" if corrections else ""
    emit_status(f"{spec.title} : outil « fmea_risk_priority » — {len(rows)} RPN calculé(s) (S × O × D){replaced}")
    return fmea.model_copy(update={"failure_modes": rows, "rpn_corrections": corrections})


def categorise_with_tool(spec: AgentSpec, draft: UrsDraft | GampDraft) -> UrsDraft | GampDraft:
    """The GAMP 5 category of the software type the model chose, from `gamp_software_category`."""
    computed = _run_tool(gamp_software_category, {"software_type": draft.gamp.software_type}, "gamp")
    emit_status(f"{spec.title} : outil « gamp_software_category » — catégorie {computed['category']} "
                f"({computed['name']})")
    return draft.model_copy(update={"gamp": draft.gamp.model_copy(update={"category": computed["category"]})})


def _run_tool(tool: Any, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    """A tool's computed result (its artifact), the tool called by the graph itself."""
    return tool.invoke({"name": tool.name, "args": args, "id": call_id, "type": "tool_call"}).artifact


def review_deliverables(spec: AgentSpec, state: ValidationState) -> Command:
    """On a thread, show the deliverables and wait: « valider » exports them, anything else is redrafted.

    A stateless run has nowhere to resume from and exports at once.
    """
    if not on_thread():
        return Command(goto="export_deliverables")
    rendered = render_deliverables(state["drafts"], state.get("sources", []))
    review = review_draft(spec.title, to_markdown(rendered.document), rendered.file_kinds, state["messages"])
    return review.next_step(export="export_deliverables", redraft="draft_deliverable", redraft_update={"drafts": {}})


def export_deliverables(spec: AgentSpec, state: ValidationState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Compute RPNs and traceability, render the answer and write the signed exports (approved: audited)."""
    emit_status(f"{spec.title} : calcul des RPN et de la traçabilité, exports…")
    user_id = context_of(runtime).user_id
    text, exported = export_rendered(render_deliverables(state["drafts"], state.get("sources", [])), user_id=user_id)
    if state.get("approved"):
        record_approval(*exported, user_id=user_id, agent=spec.label)
    sources = [export_source(item, "Export") for item in exported]
    emit_sources(sources)
    emit_status(f"{spec.title} : livrables prêts", done=True)
    return {"messages": [answer_message(text)], "sources": sources}


def answer_question(spec: AgentSpec, state: ValidationState, runtime: Runtime[Context]) -> dict[str, Any]:
    """A question that asks for no document: a streamed answer grounded on the extracts, tools offered.

    The model may compute an RPN or a GAMP category with the agent's tools until the run's tool
    rounds are spent. A question that names the three ratings gets its RPN from the tool whatever
    the model does (the embedded model, offered the tool, wrote the call as JSON inside its answer
    instead of making it): the result is in the prompt, and appended under the answer. An empty
    answer after tool calls becomes the tools' results.
    """
    context = context_of(runtime)
    emit_status(f"{spec.title} : rédaction de la réponse…")
    system = prompts.load(spec.prompt_name)
    if state.get("extracts"):
        system += "\n\n" + prompts.render("extracts", extracts=state["extracts"])
    question = attached_request(state["messages"]).request  # ratings in an attached document are not asked for
    computed = rpn_asked_for(spec, question, announce=not state.get("tool_rounds"))
    if computed:
        system += "\n\n" + prompts.render("computer_validation_computed", result=computed)
    tools = list(spec.tools) if state.get("tool_rounds", 0) < context.max_tool_rounds else None
    update = answer_update(spec, system, state["messages"], context, tools=tools)
    answer = update["messages"][-1]
    if getattr(answer, "tool_calls", None):
        return update
    note = f"\n\n---\nCalcul de l'outil « fmea_risk_priority » : {computed}." if computed else ""
    if not answer.text.strip():  # seen on the embedded model after two tool calls: say what the tools found
        note = tool_results_answer(state["messages"]) + note
    if note:
        publish_answer(note)  # streamed after the answer, so what was shown is the final message
        update["messages"] = [answer.model_copy(update={"content": answer.text + note})]
    emit_status(f"{spec.title} : réponse prête", done=True)
    return update


def tool_results_answer(messages: list[Any]) -> str:
    """An answer made of the tools' results, for a model that called tools and then wrote nothing."""
    results = [f"- {message.content}" for message in messages
               if isinstance(message, ToolMessage) and message.status != "error"]
    if not results:
        return "Le modèle n'a rédigé aucune réponse. Reformulez la question ou réessayez."
    return "Le modèle n'a rédigé aucune réponse ; voici ce que les outils ont calculé :\n\n" + "\n".join(results)


def rpn_asked_for(spec: AgentSpec, question: str, *, announce: bool) -> str | None:
    """The tool's RPN for the ratings a question names (S, O and D), or None when it names fewer."""
    ratings = ratings_in(question)
    if ratings is None:
        return None
    try:
        result = str(fmea_risk_priority.invoke({"name": fmea_risk_priority.name, "args": ratings, "id": "asked",
                                                "type": "tool_call"}).content)
    except ValueError as error:  # a rating outside 1..10: the answer says which
        result = f"cotation refusée, {error}"
    if announce:
        emit_status(f"{spec.title} : outil « fmea_risk_priority » — {result}")
    return result


def route_after_extracts(state: ValidationState) -> Literal["draft_deliverable", "answer_question"]:
    """Advice is answered in chat; anything else is drafted."""
    return "answer_question" if state["deliverable"] == "advice" else "draft_deliverable"


def build_validation_graph(spec: AgentSpec):  # noqa: ANN201 - CompiledStateGraph generics are noisy
    """Compile the computer-validation agent for `spec`."""
    builder = StateGraph(ValidationState, context_schema=Context, input_schema=AgentInput, output_schema=AgentOutput)
    builder.add_node("check_request", partial(check_request, spec), destinations=("gather_extracts", END))
    builder.add_node("gather_extracts", partial(gather_extracts, spec))
    builder.add_node("draft_deliverable", partial(draft_deliverable, spec),
                     destinations=("draft_deliverable", "review_deliverables", END))
    builder.add_node("review_deliverables", partial(review_deliverables, spec),
                     destinations=("export_deliverables", "draft_deliverable"))
    builder.add_node("export_deliverables", partial(export_deliverables, spec))
    builder.add_node("answer_question", partial(answer_question, spec))
    builder.add_node("run_tools", partial(run_tools, spec))
    builder.add_edge(START, "check_request")
    builder.add_conditional_edges("gather_extracts", route_after_extracts)
    builder.add_edge("export_deliverables", END)
    builder.add_conditional_edges("answer_question", route_after_draft)  # tool calls → run_tools
    builder.add_edge("run_tools", "answer_question")
    return builder.compile(name=spec.label)


def _system(spec: AgentSpec, name: str, extracts: str, *, attached: bool) -> SystemMessage:
    text = prompts.load(spec.prompt_name) + "\n\n" + prompts.load(f"{spec.prompt_name}_{name}")
    if attached:  # the attached specification is the drafts' input
        text += "\n\n" + prompts.load(f"{spec.prompt_name}_attached")
    text += f"\n\n<modele>\n{load_template(name)}\n</modele>"
    if extracts:
        text += "\n\n" + prompts.render("extracts", extracts=extracts)
    return SystemMessage(text)


def earlier_deliverables(drafts: dict[str, dict[str, Any]]) -> str:
    """The ids of what was already drafted, so the next deliverable links to them (data, not orders)."""
    lines = []
    if "urs" in drafts:
        urs = UrsDraft.model_validate(drafts["urs"])
        lines += [f"{requirement_id(n)} [{req.gxp_criticality}] {req.statement}"
                  for n, req in enumerate(urs.requirements, start=1)]
    if "fmea" in drafts:
        for risk in rate_risks(FmeaDraft.model_validate(drafts["fmea"])):
            lines.append(f"{risk.risk_id} ({', '.join(risk.row.requirement_refs) or '—'}) "
                         f"{risk.row.failure_mode} : RPN {risk.rpn}, risque {risk.risk_class}")
    if not lines:
        return ""
    listing = "\n".join(lines)
    return ("Livrables déjà établis (données de référence : cite leurs identifiants, couvre d'abord les "
            f"exigences de criticité haute et les risques élevés) :\n<livrables>\n{listing}\n</livrables>")


def export_rendered(rendered: RenderedDeliverables, *, user_id: str) -> tuple[str, list[ExportedFile]]:
    """Write the .docx (and the .xlsx when there are tables); the chat answer is the document and its links.

    The download links are signed for `user_id`.
    """
    exported = [export_docx(rendered.document, user_id=user_id)]
    if rendered.sheets:
        exported.append(export_xlsx(rendered.sheets, rendered.document.title, user_id=user_id))
    links = "\n\n".join(f"📄 **Télécharger** : [{item.name}]({item.url})" for item in exported)
    return f"{to_markdown(rendered.document)}\n\n{links}", exported
