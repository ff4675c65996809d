"""Computer-system validation arithmetic: FMEA risk priority, GAMP 5 categories, traceability.

Everything here is computed, never asked of a model: a model rates severity, occurrence and
detectability; the risk priority number, the risk class and the links between requirements,
risks and tests come from these functions. The scales and thresholds are those of
knowledge/templates/amdec.md (keep both in step).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.tools import tool

SCALE = range(1, 11)
HIGH_RPN = 100  # at or above: risk class "Élevé"
MEDIUM_RPN = 40  # at or above: "Moyen"
CRITICAL_SEVERITY = 9  # a failure that may harm a patient is high risk whatever its RPN

RiskClass = Literal["Élevé", "Moyen", "Faible"]
SoftwareType = Literal["infrastructure", "non_configure", "configure", "sur_mesure"]


def risk_priority(severity: int, occurrence: int, detectability: int) -> int:
    """RPN = S × O × D, each rated 1..10 (detectability 10 = the failure goes unnoticed).

    Raises:
        ValueError: when a rating is outside 1..10.
    """
    for name, value in (("gravité", severity), ("occurrence", occurrence), ("détectabilité", detectability)):
        if value not in SCALE:
            raise ValueError(f"la cotation {name} doit être un entier de 1 à 10 (reçu {value!r})")
    return severity * occurrence * detectability


def risk_class(severity: int, rpn: int) -> RiskClass:
    """The class that decides the action: Élevé (mitigate before go-live), Moyen (mitigate or justify), Faible."""
    if rpn >= HIGH_RPN or severity >= CRITICAL_SEVERITY:
        return "Élevé"
    if rpn >= MEDIUM_RPN:
        return "Moyen"
    return "Faible"


# A rating named in a question: « gravité de 8 », « severity: 8 », « S=8 » (a lone letter only with = or :).
_RATING_NAMES = {
    "severity": r"gravit[ée]|s[ée]v[ée]rit[ée]|severity|\bS(?=\s*[=:])",
    "occurrence": r"occurrence|fr[ée]quence|\bO(?=\s*[=:])",
    "detectability": r"d[ée]tectabilit[ée]|d[ée]tection|detectability|\bD(?=\s*[=:])",
}
_RATINGS = {name: re.compile(rf"(?:{words})\s*(?:[=:]|de|of|est de|égale? à|à)?\s*(\d{{1,2}})\b", re.IGNORECASE)
            for name, words in _RATING_NAMES.items()}


def ratings_in(text: str) -> dict[str, int] | None:
    """The severity, occurrence and detectability a question names, or None unless it names all three."""
    found = {name: pattern.search(text) for name, pattern in _RATINGS.items()}
    if not all(found.values()):
        return None
    return {name: int(match.group(1)) for name, match in found.items() if match}


@tool(response_format="content_and_artifact")
def fmea_risk_priority(severity: int, occurrence: int, detectability: int) -> tuple[str, dict[str, Any]]:
    """Compute an FMEA risk priority number (S×O×D, each 1-10) and its risk class."""
    rpn = risk_priority(severity, occurrence, detectability)
    klass = risk_class(severity, rpn)
    text = f"RPN = {severity}×{occurrence}×{detectability} = {rpn} ; classe de risque : {klass}"
    return text, {"rpn": rpn, "risk_class": klass}


# --- GAMP 5 -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GampCategory:
    """A GAMP 5 software category and the validation effort it implies."""

    number: int
    name: str
    approach: str


GAMP_CATEGORIES: dict[SoftwareType, GampCategory] = {
    "infrastructure": GampCategory(
        1, "Logiciel d'infrastructure",
        "Qualification de l'infrastructure (installation, configuration maîtrisée, gestion des versions) ; "
        "pas de validation fonctionnelle propre.",
    ),
    "non_configure": GampCategory(
        3, "Produit non configuré",
        "Vérification de l'installation (IQ) et tests des exigences utilisateur critiques (OQ/PQ) ; "
        "s'appuyer sur l'évaluation du fournisseur.",
    ),
    "configure": GampCategory(
        4, "Produit configuré",
        "Spécification et vérification de la configuration, tests des exigences utilisateur et des "
        "processus métier configurés (IQ/OQ/PQ) ; audit ou évaluation du fournisseur.",
    ),
    "sur_mesure": GampCategory(
        5, "Application sur mesure",
        "Cycle de vie complet : spécifications fonctionnelles et de conception, revue de code, tests "
        "unitaires et d'intégration, puis IQ/OQ/PQ ; effort de validation maximal.",
    ),
}


def gamp_category(software_type: SoftwareType) -> GampCategory:
    """The GAMP 5 category (1, 3, 4 or 5) of a kind of software.

    Raises:
        ValueError: for a software type that is not one of `GAMP_CATEGORIES`.
    """
    try:
        return GAMP_CATEGORIES[software_type]
    except KeyError:
        raise ValueError(f"type de logiciel inconnu {software_type!r} (attendu : {sorted(GAMP_CATEGORIES)})") from None


@tool(response_format="content_and_artifact")
def gamp_software_category(software_type: SoftwareType) -> tuple[str, dict[str, Any]]:
    """Give the GAMP 5 software category of a kind of software, and the validation approach it implies.

    | software_type  | category | what it is                                                          |
    |----------------|----------|---------------------------------------------------------------------|
    | infrastructure | 1        | operating system, database, network, middleware                     |
    | non_configure  | 3        | standard software used as supplied (firmware, instrument software)  |
    | configure      | 4        | configured package: LIMS, ERP, MES, CDS set up with parameters      |
    | sur_mesure     | 5        | bespoke application, custom code, macros and scripts written in-house |

    (Category 2, firmware, was folded into the others by GAMP 5.)
    """
    category = gamp_category(software_type)
    text = f"Catégorie GAMP 5 : {category.number} — {category.name}. Approche de validation : {category.approach}"
    return text, {"category": category.number, "name": category.name}


# --- traceability ---------------------------------------------------------------------------------

_REF_NUMBER = re.compile(r"(\d+)")


def requirement_id(number: int) -> str:
    """The id of the n-th requirement of a URS (URS-001)."""
    return f"URS-{number:03d}"


def risk_id(number: int) -> str:
    """The id of the n-th failure mode of an FMEA (RISK-01)."""
    return f"RISK-{number:02d}"


def normalise_requirement_ref(ref: str) -> str | None:
    """Read a model's reference to a requirement ("URS-3", "urs 003", "3") as a URS id, or None."""
    match = _REF_NUMBER.search(ref or "")
    return requirement_id(int(match.group(1))) if match else None


@dataclass(frozen=True)
class TraceRow:
    """One requirement and what covers it."""

    requirement: str
    criticality: str
    risks: tuple[str, ...]
    highest_rpn: int | None
    tests: tuple[str, ...]

    @property
    def covered(self) -> bool:
        """Whether at least one test verifies the requirement."""
        return bool(self.tests)


@dataclass(frozen=True)
class TraceabilityMatrix:
    """Requirements ↔ risks ↔ tests, with the gaps a reviewer must look at."""

    rows: tuple[TraceRow, ...]
    untested: tuple[str, ...] = ()
    unknown_refs: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Link:
    """A risk or a test and the requirements it names (as the model wrote them)."""

    item_id: str
    requirement_refs: Sequence[str]
    rpn: int | None = None


def trace_requirements(
    requirements: Sequence[tuple[str, str]], risks: Sequence[Link], tests: Sequence[Link]
) -> TraceabilityMatrix:
    """Link each requirement (id, GxP criticality) to the risks and tests that name it.

    A reference to a requirement that does not exist is reported, never silently dropped.
    """
    known = {req_id for req_id, _ in requirements}
    unknown: list[str] = []

    def linked(items: Sequence[Link]) -> dict[str, list[Link]]:
        by_requirement: dict[str, list[Link]] = {req_id: [] for req_id in known}
        for item in items:
            for ref in item.requirement_refs:
                req_id = normalise_requirement_ref(ref)
                if req_id in known:
                    if item not in by_requirement[req_id]:
                        by_requirement[req_id].append(item)
                else:
                    unknown.append(f"{item.item_id} → {ref}")
        return by_requirement

    risks_of, tests_of = linked(risks), linked(tests)
    rows = []
    for req_id, criticality in requirements:
        rpns = [risk.rpn for risk in risks_of[req_id] if risk.rpn is not None]
        rows.append(TraceRow(
            requirement=req_id,
            criticality=criticality,
            risks=tuple(risk.item_id for risk in risks_of[req_id]),
            highest_rpn=max(rpns) if rpns else None,
            tests=tuple(test.item_id for test in tests_of[req_id]),
        ))
    untested = tuple(row.requirement for row in rows if not row.covered)
    return TraceabilityMatrix(rows=tuple(rows), untested=untested, unknown_refs=tuple(dict.fromkeys(unknown)))

