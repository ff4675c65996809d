"""The procedures agent: check the request → draft the SOP (structured output) → review → export.

The model only fills the `SopDraft` fields from the user's notes. Section numbers, step numbers,
the signature block, the revision history and the .docx export are produced here, in code. On a
thread, the draft is shown and the run pauses until the user answers « valider » (export) or asks
for changes (redraft); see relais/approval.py.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NotRequired

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

import prompts
from agents.base import AgentSpec
from agents.procedures.schemas import SopDraft
from relais.approval import nothing_pending, on_thread, record_approval, review_draft
from relais.attachments import fenced_conversation
from relais.context import Context, context_of
from relais.deliverables import (
    DraftingError,
    answer_message,
    draft_structured,
    export_source,
    load_template,
    screen_request,
    system_with_template,
)
from relais.documents import (
    BulletList,
    ExportedFile,
    Heading,
    Paragraph,
    RichDocument,
    Table,
    export_docx,
    to_markdown,
)
from relais.events import emit_sources, emit_status
from relais.state import AgentInput, AgentOutput, AgentState

SUPPORTED_FORMATS = ("docx", "md")
TO_COMPLETE = "[à compléter]"


class ProceduresState(AgentState):
    """The agent's working state: the structured draft between drafting and export."""

    draft: NotRequired[dict[str, Any]]
    approved: NotRequired[bool]


def check_request(spec: AgentSpec, state: ProceduresState) -> Command:
    """Refuse an empty, oversized or wrong-format request, or a « valider » with nothing to approve."""
    if pending := nothing_pending(state["messages"]):
        return pending
    _, refusal = screen_request(spec.title, state["messages"], SUPPORTED_FORMATS)
    return refusal or Command(goto="draft_procedure")


def draft_procedure(
    spec: AgentSpec, state: ProceduresState, runtime: Runtime[Context]
) -> Command:
    """The model fills `SopDraft` from the user's notes (structured output, company template)."""
    emit_status(f"{spec.title} : rédaction structurée à partir de vos notes…")
    system = system_with_template(prompts.load(spec.prompt_name), load_template("sop"))
    try:
        draft, usage = draft_structured(
            SopDraft, [system, *fenced_conversation(state["messages"])],
            role=spec.role, sensitivity=spec.sensitivity, guard=spec.guard, overrides=context_of(runtime).models,
        )
    except DraftingError as error:
        emit_status(f"{spec.title} : échec de la rédaction", done=True)
        return Command(goto=END, update={"messages": [answer_message(str(error))]})
    return Command(goto="review_procedure", update={"draft": draft.model_dump(), "usage": usage})


def review_procedure(spec: AgentSpec, state: ProceduresState) -> Command:
    """On a thread, show the draft and wait: « valider » exports it, anything else is redrafted.

    A stateless run has nowhere to resume from and exports at once.
    """
    if not on_thread():
        return Command(goto="export_procedure")
    draft = SopDraft.model_validate(state["draft"])
    review = review_draft(spec.title, sop_draft_answer(draft), ["Word (.docx)"], state["messages"])
    return review.next_step(export="export_procedure", redraft="draft_procedure")


def export_procedure(spec: AgentSpec, state: ProceduresState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Number, render and export the SOP (.docx, signed link), then answer with it."""
    draft = SopDraft.model_validate(state["draft"])
    emit_status(f"{spec.title} : export Word (.docx)…")
    user_id = context_of(runtime).user_id
    exported = export_docx(sop_document(draft, for_export=True), file_title=draft.title, user_id=user_id)
    if state.get("approved"):
        record_approval(exported, user_id=user_id, agent=spec.label)
    source = export_source(exported, "Procédure")
    emit_sources([source])
    emit_status(f"{spec.title} : procédure prête", done=True)
    return {"messages": [answer_message(sop_answer(draft, exported))], "sources": [source]}


def build_procedures_graph(spec: AgentSpec):  # noqa: ANN201 - CompiledStateGraph generics are noisy
    """Compile the procedures agent for `spec`."""
    builder = StateGraph(ProceduresState, context_schema=Context, input_schema=AgentInput, output_schema=AgentOutput)
    builder.add_node("check_request", partial(check_request, spec), destinations=("draft_procedure", END))
    builder.add_node("draft_procedure", partial(draft_procedure, spec), destinations=("review_procedure", END))
    builder.add_node("review_procedure", partial(review_procedure, spec),
                     destinations=("export_procedure", "draft_procedure"))
    builder.add_node("export_procedure", partial(export_procedure, spec))
    builder.add_edge(START, "check_request")
    builder.add_edge("export_procedure", END)
    return builder.compile(name=spec.label)


def missing_information(draft: SopDraft) -> list[str]:
    """What the user must still supply: the model's list plus the gaps visible in the structure."""
    missing = [item.strip() for item in draft.missing_information if item.strip()]
    if not draft.steps:
        missing.append("Les étapes du déroulement (qui fait quoi, dans quel ordre).")
    if not draft.responsibilities:
        missing.append("Les fonctions responsables de l'application de la procédure.")
    if any(not step.actor.strip() for step in draft.steps):
        missing.append("L'acteur de chaque étape marquée « à compléter ».")
    return list(dict.fromkeys(missing))


def sop_answer(draft: SopDraft, exported: ExportedFile) -> str:
    """The chat answer: what is missing first, then the procedure, then the download link."""
    link = f"📄 **Télécharger la procédure (Word)** : [{exported.name}]({exported.url})"
    return f"{sop_draft_answer(draft)}\n\n{link}"


def sop_draft_answer(draft: SopDraft) -> str:
    """What is missing first, then the procedure (the draft shown for review, and the final answer)."""
    parts = []
    missing = missing_information(draft)
    if missing:
        questions = "\n".join(f"- {item}" for item in missing)
        parts.append(f"**Informations à compléter** (je ne les ai pas inventées) :\n{questions}")
    parts.append(to_markdown(sop_document(draft, for_export=False)))
    return "\n\n".join(parts)


def sop_document(draft: SopDraft, *, for_export: bool) -> RichDocument:
    """The SOP in the company structure (sections 1 to 8); the export adds the signature block."""
    blocks: list[Any] = []
    if for_export:
        blocks.append(Table(["", "Rédaction", "Vérification", "Approbation"],
                            [[label, "", "", ""] for label in ("Fonction", "Nom", "Date", "Visa")]))
    blocks += [Heading("1. Objet"), Paragraph(draft.purpose or TO_COMPLETE),
               Heading("2. Domaine d'application"), Paragraph(draft.scope or TO_COMPLETE),
               Heading("3. Responsabilités"), _responsibilities(draft),
               Heading("4. Définitions et abréviations"), _definitions(draft),
               Heading("5. Déroulement"), _steps(draft),
               Heading("6. Enregistrements"), _records(draft),
               Heading("7. Références"),
               BulletList(draft.references) if draft.references else Paragraph("Sans objet."),
               Heading("8. Historique des révisions"),
               _revisions(draft)]
    missing = missing_information(draft)
    if for_export and missing:
        blocks += [Heading("Informations à compléter avant vérification"), BulletList(missing)]
    subtitle = f"{draft.document_type or 'Procédure'} — Référence : {TO_COMPLETE} — Version 01 (projet)"
    return RichDocument(title=draft.title or "Procédure", subtitle=subtitle, blocks=blocks)


def _responsibilities(draft: SopDraft) -> Table | Paragraph:
    if not draft.responsibilities:
        return Paragraph(TO_COMPLETE)
    return Table(["Fonction", "Responsabilités"], [[item.role, item.duties] for item in draft.responsibilities])


def _definitions(draft: SopDraft) -> Table | Paragraph:
    if not draft.definitions:
        return Paragraph("Sans objet.")
    return Table(["Terme", "Définition"], [[item.term, item.definition] for item in draft.definitions])


def _steps(draft: SopDraft) -> Table | Paragraph:
    if not draft.steps:
        return Paragraph(TO_COMPLETE)
    rows = [[f"5.{number}", step.actor.strip() or TO_COMPLETE, step.action, step.details]
            for number, step in enumerate(draft.steps, start=1)]
    return Table(["N°", "Acteur", "Action", "Précisions"], rows)


def _revisions(draft: SopDraft) -> Table:
    rows = [[item.version, item.date or TO_COMPLETE, item.change] for item in draft.revision_history]
    return Table(["Version", "Date", "Nature de la modification"], rows or [["01", TO_COMPLETE, "Création"]])


def _records(draft: SopDraft) -> Table | Paragraph:
    if not draft.records:
        return Paragraph(f"Aucun enregistrement identifié dans les notes : {TO_COMPLETE}")
    rows = [[item.name, item.retention or TO_COMPLETE] for item in draft.records]
    return Table(["Enregistrement", "Archivage"], rows)

