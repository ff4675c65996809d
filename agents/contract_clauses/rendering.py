"""The contract-clauses answer in Markdown, built from the model's clause and the checks computed on it.

What the answer asserts about the clause (its subject, its library basis, its deviations) comes from
`checks`, never from the model's own account: an off-subject clause is said to be so and replaced by
the on-subject library clause, "✅ Aucun écart" needs a computed check that found none, and the model's
praise of its own text never reaches the legal-review points.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agents.contract_clauses.checks import (
    candidate_clauses,
    clause_body,
    computed_deviations,
    review_points,
    starting_clause,
)
from retrievers.clauses import cited_clause_id, subject_label

if TYPE_CHECKING:
    from agents.contract_clauses.graph import ClauseAnswer, Deviation

RISK_ORDER = {"faible": 0, "moyen": 1, "non précisé": 2, "élevé": 3}  # an unstated risk ranks as a serious one
DEFAULT_REVIEW = "Validation de la clause complète par la direction juridique."


def render_answer(answer: ClauseAnswer, library: list[dict[str, str]], mode: str, request: str = "",
                  subject: str | None = None) -> str:
    """The answer in Markdown: the clause, its library basis, its computed deviations, the legal points."""
    known = {clause["id"]: clause for clause in library}
    cited = list(dict.fromkeys(cited_clause_id(clause_id) for clause_id in answer.based_on if clause_id.strip()))
    base, _ = starting_clause(answer.clause_text, candidate_clauses(library, cited), cited)
    if subject and base is not None and base["type"] != subject:
        lines = off_subject_answer(answer, base, library, request, subject)
    else:
        lines = on_subject_answer(answer, base, [known[key] for key in cited if key in known], mode, request,
                                  set(known))
    unknown = [clause_id for clause_id in cited if clause_id not in known]
    if unknown:
        lines += ["", f"> Vérification : identifiant(s) cité(s) absent(s) des clauses retrouvées, retiré(s) : "
                      f"{', '.join(unknown)}."]
    return "\n".join(lines)


def on_subject_answer(answer: ClauseAnswer, base: dict[str, str] | None, cited: list[dict[str, str]], mode: str,
                      request: str, retrieved: set[str]) -> list[str]:
    """The model's clause, with the deviations computed against the library clause it started from."""
    computed = computed_deviations(answer.clause_text, base, request) if base else []
    heading = "Clause revue (version proposée)" if mode == "review" else "Clause proposée"
    basis = cited if base is None or base in cited else [base, *cited]
    return [f"## {heading} — {answer.title.strip()}", "", answer.clause_text.strip(), "",
            "### Clauses de la bibliothèque utilisées", "", *_library_table(basis),
            "", "### Écarts par rapport à la bibliothèque", "", deviation_flag(base, computed, answer.deviations),
            *[f"- {finding}" for finding in computed], *_deviation_table(answer.deviations, retrieved),
            "", "### Points à faire valider par la direction juridique", "",
            *_review_lines([*computed, *review_points(answer.legal_review_points)])]


def off_subject_answer(answer: ClauseAnswer, base: dict[str, str], library: list[dict[str, str]], request: str,
                       subject: str) -> list[str]:
    """Say plainly that the model's clause is off-subject, and give the on-subject library clause instead."""
    wanted, found = subject_label(subject), subject_label(base["type"])
    lines = [f"## ⚠ Clause hors sujet — la demande porte sur : {wanted}", "",
             f"Le texte produit par le modèle reprend **{base['title']}**, une clause de type « {found} », et non "
             f"une clause de type « {wanted} » : il est écarté et ne doit pas être utilisé comme clause de "
             f"{wanted}."]
    on_subject = next((clause for clause in library if clause["type"] == subject), None)
    if on_subject is None:
        return [*lines, "", f"Aucune clause « {wanted} » n'a été retrouvée dans la bibliothèque : faites rédiger "
                            f"cette clause par la direction juridique."]
    computed = computed_deviations(clause_body(on_subject["text"]), on_subject, request, on_subject["id"])
    return [*lines, "", f"### Clause de la bibliothèque à utiliser — {on_subject['title']}", "",
            clause_body(on_subject["text"]), "", "### Clauses de la bibliothèque utilisées", "",
            *_library_table([on_subject]), "", "### Écarts par rapport à la demande", "",
            deviation_flag(on_subject, computed, []), *[f"- {finding}" for finding in computed],
            "", "### Points à faire valider par la direction juridique", "", *_review_lines(computed)]


def deviation_flag(base: dict[str, str] | None, computed: list[str], declared: list[Deviation]) -> str:
    """The flag, from the computed check first: "✅ Aucun écart" only when it ran and found none."""
    if base is None:
        return ("⚠ **Écarts non vérifiables** : le texte ne reprend aucune clause de la bibliothèque retrouvée ; "
                "faites-le revoir intégralement.")
    if computed:
        return f"⚠ **{len(computed)} écart(s) constaté(s) par rapport à {base['id']} :**"
    if declared:
        worst = max((deviation.risk for deviation in declared), key=RISK_ORDER.__getitem__)
        return f"⚠ **{len(declared)} écart(s) déclaré(s) — risque le plus élevé : {worst}.**"
    return f"✅ Aucun écart constaté par rapport à {base['id']} (durées, montants, parties et paragraphes comparés)."


def _review_lines(points: list[str]) -> list[str]:
    return [f"- {point}" for point in points] or [f"- {DEFAULT_REVIEW}"]


def _cell(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text).replace("|", "\\|").strip()


def _library_table(clauses: list[dict[str, str]]) -> list[str]:
    if not clauses:
        return ["⚠ **Aucune clause de la bibliothèque citée** : ce texte n'est adossé à aucune clause "
                "validée ; faites-le revoir intégralement par la direction juridique."]
    rows = [f"| {clause['id']} | {_cell(clause['title'].split(' — ', 1)[-1])} | {clause['jurisdiction']} | "
            f"{clause['risk']} |" for clause in clauses]
    return ["| Identifiant | Clause | Juridiction | Risque |", "|---|---|---|---|", *rows]


def _deviation_table(deviations: list[Deviation], known: set[str]) -> list[str]:
    if not deviations:
        return []
    rows = []
    for deviation in deviations:
        flag = "" if cited_clause_id(deviation.clause_id) in known else " (non retrouvée)"
        rows.append(f"| {_cell(deviation.clause_id)}{flag} | {_cell(deviation.description)} | {deviation.risk} |")
    return ["", "### Écarts déclarés par le modèle", "", "| Clause | Écart | Risque |", "|---|---|---|", *rows]
