"""Reviewing an attached contract clause by clause: split it, match each clause to the library, render.

A contract attached in Open WebUI reaches the agent as text (`relais.attachments`). It is cut into
clauses at its headings (« Article 3 – Confidentialité », « 3. CONFIDENTIALITÉ », Markdown `#`), the
sub-numbering (3.1, 3.2) staying inside its clause. Each clause is matched to the library clause it
is closest to (by text, else by subject), and its deviations from it are computed by `checks`; the
model only adds the points for legal review and a risk, which the answer labels as its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agents.contract_clauses.checks import MIN_SIMILARITY, clause_body, computed_deviations, similarity
from retrievers.clauses import request_subject, subject_label

# « Article 3 », « ARTICLE 3 – », « Clause 12 : », « **Article 4.** », or a Markdown heading.
_ARTICLE = re.compile(r"^\s*(?:#{1,6}\s*)?(?:\*\*)?\s*(?:article|clause)\s+\d+[A-Za-z]?\b", re.IGNORECASE)
_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+\S")
# « 3. CONFIDENTIALITÉ », « 3) Durée », « 3 – Audit » (never 3.1: that is a paragraph of clause 3).
_NUMBERED_TITLE = re.compile(r"^\s*(?:\*\*)?\d{1,3}\s*(?:[.)]|\s[–-])\s+(?:\*\*)?[A-ZÀ-Ý][^\n]{0,120}$")
MAX_CONTRACT_CLAUSES = 40  # one model call per clause: beyond this, the contract is reviewed in parts
CONTRACT_NAME = "la clause du contrat"


@dataclass(frozen=True)
class ContractClause:
    """One clause of the contract: its heading line and its text (heading included)."""

    heading: str
    text: str


@dataclass
class ReviewedClause:
    """A clause with its library match, the deviations computed from it, and the model's review."""

    clause: ContractClause
    base: dict[str, str] | None
    score: float
    deviations: list[str] = field(default_factory=list)
    risk: str = "non précisé"
    points: list[str] = field(default_factory=list)
    note: str = ""  # said when the model's review of this clause was unusable


def split_contract(text: str) -> tuple[str, list[ContractClause]]:
    """(preamble, clauses): the text before the first clause heading, then each clause in order.

    « Article N » headings win when the contract has them; else Markdown headings; else numbered titles.
    A text with none of them is one clause.
    """
    lines = text.strip().split("\n")
    for pattern in (_ARTICLE, _MARKDOWN_HEADING, _NUMBERED_TITLE):
        starts = [index for index, line in enumerate(lines) if pattern.match(line)]
        if starts:
            break
    else:
        return "", [ContractClause(heading=lines[0].strip()[:120], text=text.strip())] if text.strip() else []
    preamble = "\n".join(lines[:starts[0]]).strip()
    clauses = []
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        body = "\n".join(lines[start:end]).strip()
        clauses.append(ContractClause(heading=lines[start].strip().strip("#* ").strip(), text=body))
    return preamble, clauses


def clause_subject(clause: ContractClause) -> str | None:
    """The clause's subject (the library's `type`), read from its heading first, else from its start."""
    return request_subject(clause.heading) or request_subject(clause.text[:400])


def matching_clause(clause: ContractClause, candidates: list[dict[str, str]],
                    subject: str | None) -> tuple[dict[str, str] | None, float]:
    """The library clause this one is measured against: the closest by text, else the first of its subject."""
    scored = [(similarity(clause.text, clause_body(candidate["text"])), candidate) for candidate in candidates]
    best_score, best = max(scored, key=lambda pair: pair[0], default=(0.0, None))
    if best is not None and best_score >= MIN_SIMILARITY:
        return best, best_score
    on_subject = next(((score, candidate) for score, candidate in scored if candidate["type"] == subject), None)
    return (on_subject[1], on_subject[0]) if on_subject else (None, best_score)


def clause_deviations(clause: ContractClause, base: dict[str, str] | None) -> list[str]:
    """The deviations `checks` computes between the contract's clause and its library clause."""
    return computed_deviations(clause.text, base, "", CONTRACT_NAME) if base else []


def render_contract_review(name: str, reviewed: list[ReviewedClause], preamble: str, left_out: int) -> str:
    """The review in Markdown: a summary table, then each clause with its basis, deviations and points."""
    lines = [f"## Revue du contrat « {name} » — {len(reviewed)} clause(s)", "",
             "| # | Clause du contrat | Clause de la bibliothèque | Écarts constatés | Risque (modèle) |",
             "|---|---|---|---|---|"]
    for number, item in enumerate(reviewed, start=1):
        basis = item.base["id"] if item.base else "aucune"
        lines.append(f"| {number} | {_cell(item.clause.heading)} | {basis} | {len(item.deviations)} | {item.risk} |")
    if left_out:
        lines += ["", f"⚠ Les {left_out} dernière(s) clause(s) n'ont pas été revues (au-delà de "
                      f"{MAX_CONTRACT_CLAUSES} clauses par demande) : soumettez la suite du contrat à part."]
    if preamble:
        lines += ["", "Le préambule (parties, exposé) n'est pas comparé à la bibliothèque."]
    for number, item in enumerate(reviewed, start=1):
        lines += ["", *_clause_section(number, item)]
    return "\n".join(lines)


def _clause_section(number: int, item: ReviewedClause) -> list[str]:
    lines = [f"### {number}. {item.clause.heading}", ""]
    if item.base is None:
        subject = clause_subject(item.clause)
        kind = f" de type « {subject_label(subject)} »" if subject else ""
        lines.append(f"⚠ **Aucune clause de la bibliothèque{kind} ne correspond** : clause à faire revoir "
                     f"intégralement par la direction juridique.")
    else:
        lines.append(f"Clause de référence : **{item.base['title']}** (similarité du texte {item.score:.2f}).")
        lines.append("")
        if item.deviations:
            lines.append(f"⚠ **{len(item.deviations)} écart(s) constaté(s) par rapport à {item.base['id']} :**")
            lines += [f"- {deviation}" for deviation in item.deviations]
        else:
            lines.append(f"✅ Aucun écart constaté par rapport à {item.base['id']} (durées, montants, parties et "
                         f"paragraphes comparés).")
    lines += ["", "Points à faire valider par la direction juridique (analyse du modèle) :"]
    lines += [f"- {point}" for point in item.points] or ["- Validation de la clause par la direction juridique."]
    if item.note:
        lines += ["", f"> {item.note}"]
    return lines


def _cell(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace("|", "\\|").strip()[:90]
