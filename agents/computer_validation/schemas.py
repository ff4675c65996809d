"""What the computer-validation agent asks the model to fill: one schema per deliverable.

URS, FMEA risk analyses, IQ/OQ/PQ scripts (GAMP 5, Annex 11), filled by the model (structured
output). Ids, risk priority numbers, risk classes, GAMP categories and the traceability matrix are
computed in code (validation.py), never taken from the model. The fields marked `SkipJsonSchema` are
not in the schema the model fills: the graph writes them with the tools' results (a model that writes
an RPN anyway has it replaced, and the replacement is reported).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

Criticality = Literal["haute", "moyenne", "faible"]
# List caps keep a small model from looping until its token limit cuts the JSON (seen with the
# 1.5B embedded model: the same requirement repeated 30 times); llama.cpp turns them into grammar.
MAX_REQUIREMENTS, MAX_FAILURE_MODES, MAX_SCRIPTS, MAX_STEPS = 15, 12, 5, 8


class GampAssessment(BaseModel):
    """What kind of software the system is, which sets its GAMP 5 category."""

    software_type: Literal["infrastructure", "non_configure", "configure", "sur_mesure"] = Field(
        description="infrastructure (OS, base de données, réseau) ; non_configure (logiciel standard utilisé "
        "tel quel) ; configure (progiciel paramétré : LIMS, ERP, MES...) ; sur_mesure (développement spécifique)."
    )
    justification: str = Field(description="Pourquoi ce type, d'après la description du système.")
    category: SkipJsonSchema[int | None] = None  # written by the gamp_software_category tool


class Requirement(BaseModel):
    """One user requirement: testable, with its GxP criticality."""

    category: str = Field(description="Fonctionnelle, Intégrité des données, Sécurité, Audit trail, Interface...")
    statement: str = Field(description="« Le système doit ... » : une exigence, vérifiable par un test.")
    acceptance_criterion: str = Field(description="Critère mesurable qui prouve que l'exigence est satisfaite.")
    gxp_criticality: Criticality = Field(
        description="haute : impact direct patient, qualité produit ou intégrité des données ; moyenne : indirect ; "
        "faible : aucun impact GxP."
    )
    reference: str = Field(default="", description="Texte réglementaire d'appui cité dans les extraits, sinon vide.")


class UrsDraft(BaseModel):
    """A user requirements specification."""

    system_name: str
    intended_use: str = Field(description="Usage prévu du système et processus GxP soutenus.")
    gamp: GampAssessment
    requirements: list[Requirement] = Field(max_length=MAX_REQUIREMENTS)
    missing_information: list[str] = Field(default_factory=list, description="Ce qu'il faut demander, pas inventer.")

    @model_validator(mode="after")
    def _drop_repeated_requirements(self) -> UrsDraft:
        # A repeated requirement would get two ids and be traced twice.
        self.requirements = _without_repeats(self.requirements, lambda req: req.statement.strip().lower())
        return self


def _without_repeats(items: list, key) -> list:  # noqa: ANN001 - any model list and its key
    seen, kept = set(), []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            kept.append(item)
    return kept


class FailureMode(BaseModel):
    """One FMEA row as the model rates it (the RPN and class are computed afterwards)."""

    requirement_refs: list[str] = Field(default_factory=list, description="Identifiants URS concernés (URS-001).")
    function: str = Field(description="Fonction ou étape du processus analysée.")
    failure_mode: str = Field(description="Mode de défaillance.")
    effect: str = Field(description="Effet sur le patient, le produit ou les données.")
    cause: str = Field(description="Cause possible.")
    severity: int = Field(ge=1, le=10, description="1 = sans effet, 10 = danger pour le patient.")
    occurrence: int = Field(ge=1, le=10, description="1 = quasi impossible, 10 = quasi certaine.")
    detectability: int = Field(ge=1, le=10, description="1 = détectée à coup sûr, 10 = indétectable.")
    existing_controls: str = Field(default="", description="Moyens de maîtrise existants.")
    mitigation: str = Field(default="", description="Action de réduction du risque proposée.")
    # Written by the fmea_risk_priority tool for every row; an RPN the model wrote is replaced.
    rpn: SkipJsonSchema[int | None] = None
    risk_class: SkipJsonSchema[str | None] = None


class FmeaDraft(BaseModel):
    """A failure mode and effects analysis (AMDEC)."""

    system_name: str
    failure_modes: list[FailureMode] = Field(max_length=MAX_FAILURE_MODES)
    missing_information: list[str] = Field(default_factory=list)
    # The RPNs the model wrote that the tool's computation replaced ("RISK-01 : 5 → 168 (8×3×7)").
    rpn_corrections: SkipJsonSchema[list[str]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _drop_repeated_failure_modes(self) -> FmeaDraft:
        self.failure_modes = _without_repeats(
            self.failure_modes, lambda row: (row.function.strip().lower(), row.failure_mode.strip().lower())
        )
        return self


class QualificationStep(BaseModel):
    """One action of a test script and what must be observed."""

    action: str
    expected_result: str = Field(description="Résultat attendu observable et objectif.")


class QualificationScript(BaseModel):
    """An IQ, OQ or PQ test script."""

    phase: Literal["IQ", "OQ", "PQ"]
    title: str
    objective: str
    requirement_refs: list[str] = Field(default_factory=list, description="Identifiants URS vérifiés (URS-001).")
    prerequisites: list[str] = Field(default_factory=list)
    steps: list[QualificationStep] = Field(max_length=MAX_STEPS)


class QualificationDraft(BaseModel):
    """Qualification test scripts."""

    system_name: str
    scripts: list[QualificationScript] = Field(max_length=MAX_SCRIPTS)
    missing_information: list[str] = Field(default_factory=list)


class GampDraft(BaseModel):
    """A GAMP 5 categorisation on its own."""

    system_name: str
    gamp: GampAssessment
    key_points: list[str] = Field(default_factory=list, description="Points d'attention de validation.")

