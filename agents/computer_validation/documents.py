"""Validation deliverables as documents: ids, RPNs and traceability computed, then Markdown/Word/Excel.

The drafts come from the model (schemas.py); everything numeric or relational here
is computed by validation.py, so the figures in the chat, the .docx and the .xlsx agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agents.computer_validation.schemas import FailureMode, FmeaDraft, GampDraft, QualificationDraft, UrsDraft
from agents.computer_validation.spreadsheets import Sheet
from agents.computer_validation.validation import (
    HIGH_RPN,
    MEDIUM_RPN,
    Link,
    TraceabilityMatrix,
    gamp_category,
    normalise_requirement_ref,
    requirement_id,
    risk_class,
    risk_id,
    risk_priority,
    trace_requirements,
)
from relais.documents import Block, BulletList, Heading, Paragraph, RichDocument, Table
from relais.sources import Source


@dataclass(frozen=True)
class RatedRisk:
    """An FMEA row with its computed id, RPN and class."""

    risk_id: str
    row: FailureMode
    rpn: int
    risk_class: str


def rate_risks(fmea: FmeaDraft) -> list[RatedRisk]:
    """Number the failure modes (RISK-01...) and compute RPN = S×O×D and the risk class of each.

    Computed again from the ratings even after the graph's tool step: ratings edited since (by a
    reviewer) get their own RPN, and nothing a model wrote is ever shown as an RPN.
    """
    rated = []
    for number, row in enumerate(fmea.failure_modes, start=1):
        rpn = risk_priority(row.severity, row.occurrence, row.detectability)
        rated.append(RatedRisk(risk_id(number), row, rpn, risk_class(row.severity, rpn)))
    return rated


def script_ids(plan: QualificationDraft) -> list[str]:
    """IQ-01, OQ-01, OQ-02...: numbered within each qualification phase."""
    counts: dict[str, int] = {}
    ids = []
    for script in plan.scripts:
        counts[script.phase] = counts.get(script.phase, 0) + 1
        ids.append(f"{script.phase}-{counts[script.phase]:02d}")
    return ids


def _refs(refs: Sequence[str]) -> str:
    normalised = [normalise_requirement_ref(ref) or ref for ref in refs]
    return ", ".join(dict.fromkeys(normalised)) or "—"


# --- one set of blocks per deliverable --------------------------------------------------------------


def gamp_blocks(system_name: str, assessment: Any, key_points: Sequence[str] = ()) -> list[Block]:
    """The GAMP 5 category (computed from the software type) with the model's reasoning."""
    category = gamp_category(assessment.software_type)
    blocks: list[Block] = [
        Heading("Catégorisation GAMP 5"),
        Paragraph(f"{system_name} : catégorie {category.number} — {category.name}."),
        Paragraph(f"Justification : {assessment.justification}"),
        Paragraph(f"Approche de validation : {category.approach}"),
    ]
    if key_points:
        blocks.append(BulletList(list(key_points)))
    return blocks


def urs_blocks(urs: UrsDraft) -> list[Block]:
    """The URS: intended use, then the numbered requirements table."""
    rows = [[requirement_id(number), req.category, req.statement, req.acceptance_criterion,
             req.gxp_criticality, req.reference or "—"] for number, req in enumerate(urs.requirements, start=1)]
    return [
        Heading("Spécification des exigences utilisateur (URS)"),
        Paragraph(f"Usage prévu : {urs.intended_use}"),
        Table(["ID", "Catégorie", "Exigence", "Critère d'acceptation", "Criticité GxP", "Référence"], rows),
    ]


FMEA_HEADERS = ["ID", "Exigences", "Fonction", "Mode de défaillance", "Effet", "Cause", "S", "O", "D", "RPN",
                "Classe", "Maîtrise existante", "Action proposée"]


def _fmea_row(risk: RatedRisk) -> list[Any]:
    row = risk.row
    return [risk.risk_id, _refs(row.requirement_refs), row.function, row.failure_mode, row.effect, row.cause,
            row.severity, row.occurrence, row.detectability, risk.rpn, risk.risk_class,
            row.existing_controls or "—", row.mitigation or "—"]


def fmea_summary(risks: Sequence[RatedRisk]) -> str:
    """How many risks fall in each class, and the rule that classed them."""
    counts = {name: sum(risk.risk_class == name for risk in risks) for name in ("Élevé", "Moyen", "Faible")}
    return (f"{len(risks)} modes de défaillance : {counts['Élevé']} élevé(s), {counts['Moyen']} moyen(s), "
            f"{counts['Faible']} faible(s). RPN = S × O × D calculé ; classe Élevé si RPN ≥ {HIGH_RPN} ou S ≥ 9, "
            f"Moyen si RPN ≥ {MEDIUM_RPN}.")


def fmea_blocks(risks: Sequence[RatedRisk], corrections: Sequence[str] = ()) -> list[Block]:
    """The FMEA table with computed RPNs and classes, and the model's RPNs the computation replaced."""
    blocks: list[Block] = [Heading("Analyse de risques (AMDEC)"), Paragraph(fmea_summary(risks)),
                           Table(FMEA_HEADERS, [[str(cell) for cell in _fmea_row(risk)] for risk in risks])]
    if corrections:
        blocks.append(Paragraph("RPN écrits par le modèle et remplacés par le calcul S × O × D : "
                                + "; ".join(corrections) + "."))
    return blocks


def qualification_blocks(plan: QualificationDraft) -> list[Block]:
    """Each IQ/OQ/PQ script: objective, requirements verified, prerequisites, steps with expected results."""
    blocks: list[Block] = [Heading("Scripts de qualification (IQ/OQ/PQ)")]
    for script_id, script in zip(script_ids(plan), plan.scripts, strict=True):
        blocks.append(Heading(f"{script_id} — {script.title}", level=2))
        verified = _refs(script.requirement_refs)
        blocks.append(Paragraph(f"Objectif : {script.objective}\n\nExigences vérifiées : {verified}"))
        if script.prerequisites:
            blocks.append(BulletList([f"Prérequis : {item}" for item in script.prerequisites]))
        rows = [[f"{number}", step.action, step.expected_result, "", ""]
                for number, step in enumerate(script.steps, start=1)]
        blocks.append(Table(["Étape", "Action", "Résultat attendu", "Résultat obtenu", "Conforme (O/N)"], rows))
    return blocks


TRACE_HEADERS = ["Exigence", "Criticité GxP", "Risques", "RPN max", "Tests", "Couverture"]


def traceability(urs: UrsDraft, risks: Sequence[RatedRisk], plan: QualificationDraft) -> TraceabilityMatrix:
    """Requirements ↔ risks ↔ tests, linked by the requirement ids each risk and script names."""
    requirements = [(requirement_id(n), req.gxp_criticality) for n, req in enumerate(urs.requirements, start=1)]
    risk_links = [Link(risk.risk_id, risk.row.requirement_refs, risk.rpn) for risk in risks]
    test_links = [Link(test_id, script.requirement_refs) for test_id, script in zip(script_ids(plan), plan.scripts,
                                                                                     strict=True)]
    return trace_requirements(requirements, risk_links, test_links)


def _trace_row(row: Any) -> list[Any]:
    return [row.requirement, row.criticality, ", ".join(row.risks) or "—",
            row.highest_rpn if row.highest_rpn is not None else "—", ", ".join(row.tests) or "—",
            "Couverte" if row.covered else "NON COUVERTE"]


def traceability_blocks(matrix: TraceabilityMatrix) -> list[Block]:
    """The matrix, then the gaps a reviewer must close."""
    blocks: list[Block] = [Heading("Matrice de traçabilité"),
                           Table(TRACE_HEADERS, [[str(cell) for cell in _trace_row(row)] for row in matrix.rows])]
    if matrix.untested:
        blocks.append(Paragraph("Exigences sans test : " + ", ".join(matrix.untested) + " (à couvrir)."))
    if matrix.unknown_refs:
        blocks.append(Paragraph("Références à des exigences inexistantes : " + "; ".join(matrix.unknown_refs) + "."))
    if not matrix.untested and not matrix.unknown_refs:
        blocks.append(Paragraph("Toutes les exigences sont couvertes par au moins un test."))
    return blocks


def reference_blocks(sources: Sequence[Source]) -> list[Block]:
    """The GMP extracts (Annex 11, Annex 15...) consulted for the deliverable."""
    if not sources:
        return [Heading("Références"), Paragraph("Aucun extrait des BPF n'a été trouvé : références à compléter.")]
    return [Heading("Références (extraits BPF consultés)"), BulletList([source["title"] for source in sources])]


def missing_blocks(drafts: Sequence[Any]) -> list[Block]:
    """What the model could not know and the user must supply."""
    missing = list(dict.fromkeys(item for draft in drafts for item in getattr(draft, "missing_information", [])))
    return [Heading("Informations à compléter"), BulletList(missing)] if missing else []


# --- Excel ----------------------------------------------------------------------------------------


def validation_sheets(urs: UrsDraft | None, risks: Sequence[RatedRisk] | None,
                      matrix: TraceabilityMatrix | None) -> list[Sheet]:
    """The tables worth filtering and sorting in Excel: URS, FMEA (numbers as numbers), traceability."""
    sheets = []
    if urs is not None:
        rows = [[requirement_id(n), req.category, req.statement, req.acceptance_criterion, req.gxp_criticality]
                for n, req in enumerate(urs.requirements, start=1)]
        sheets.append(Sheet("URS", ["ID", "Catégorie", "Exigence", "Critère d'acceptation", "Criticité GxP"], rows))
    if risks is not None:
        sheets.append(Sheet("AMDEC", FMEA_HEADERS, [_fmea_row(risk) for risk in risks], risk_column="Classe",
                            notes=[fmea_summary(risks)]))
    if matrix is not None:
        sheets.append(Sheet("Traçabilité", TRACE_HEADERS, [_trace_row(row) for row in matrix.rows]))
    return sheets


def gamp_of(urs: UrsDraft | None) -> GampDraft | None:
    """The GAMP assessment a URS carries, as a GAMP deliverable (None without a URS)."""
    return GampDraft(system_name=urs.system_name, gamp=urs.gamp) if urs else None


@dataclass(frozen=True)
class RenderedDeliverables:
    """The drafts as one Word document, and the tables worth a workbook (none: no .xlsx)."""

    document: RichDocument
    sheets: list[Sheet]

    @property
    def file_kinds(self) -> list[str]:
        """The files an export writes, as the approval's choices name them."""
        return ["Word (.docx)", *(["Excel (.xlsx)"] if self.sheets else [])]


def render_deliverables(drafts: dict[str, dict[str, Any]], sources: Sequence[Source]) -> RenderedDeliverables:
    """Compute what must be computed (RPNs, classes, traceability) and lay the drafts out as documents.

    The same rendering is shown for approval and exported once approved: what is approved is what is written.
    """
    urs = UrsDraft.model_validate(drafts["urs"]) if "urs" in drafts else None
    fmea = FmeaDraft.model_validate(drafts["fmea"]) if "fmea" in drafts else None
    plan = QualificationDraft.model_validate(drafts["tests"]) if "tests" in drafts else None
    gamp = GampDraft.model_validate(drafts["gamp"]) if "gamp" in drafts else gamp_of(urs)
    risks = rate_risks(fmea) if fmea else None
    matrix = traceability(urs, risks or [], plan) if urs and plan else None
    blocks: list[Any] = []
    if gamp:
        blocks += gamp_blocks(gamp.system_name, gamp.gamp, gamp.key_points)
    blocks += urs_blocks(urs) if urs else []
    blocks += fmea_blocks(risks, fmea.rpn_corrections) if fmea and risks is not None else []
    blocks += qualification_blocks(plan) if plan else []
    blocks += traceability_blocks(matrix) if matrix else []
    blocks += missing_blocks([draft for draft in (urs, fmea, plan) if draft]) + reference_blocks(sources)
    system = next(d.system_name for d in (urs, fmea, plan, gamp) if d)
    document = RichDocument(title=f"Validation — {system}", subtitle="Projet de livrable GxP, à revoir et approuver",
                            blocks=blocks)
    return RenderedDeliverables(document, validation_sheets(urs, risks, matrix))
