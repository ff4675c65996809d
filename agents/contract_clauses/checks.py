"""Checks computed on the model's clause, never taken from what the model declares about it.

- the clause the draft actually started from: the retrieved library clause whose text it is closest to
  (a model may cite one id and copy another);
- whether that clause has the request's subject (the library's `type`, `retrievers.clauses.request_subject`);
- the deviations from that clause: its key provisions (durations, amounts, parties) compared with the
  draft's and with the request's, and the library paragraphs the draft dropped or rewrote (a text diff);
- the legal-review points without the model's praise of its own text.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from retrievers.clauses import fold, library_clauses

# A draft sharing less than this with every retrieved clause was not started from any of them.
MIN_SIMILARITY = 0.45
# A library paragraph is kept when some draft paragraph matches it at least this closely.
KEPT_PARAGRAPH = 0.85
_NUMBER_WORDS = {"un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8,
                 "neuf": 9, "dix": 10, "douze": 12, "quinze": 15, "vingt": 20, "trente": 30, "soixante": 60}
_UNITS = {"an": "ans", "ans": "ans", "annee": "ans", "annees": "ans", "mois": "mois", "jour": "jours",
          "jours": "jours", "semaine": "semaines", "semaines": "semaines", "heure": "heures", "heures": "heures"}
_DURATION = re.compile(r"\b(\d+|" + "|".join(_NUMBER_WORDS) + r")\)?\s+(?:\(\d+\)\s+)?(annees?|ans?|mois|jours?|"
                       r"semaines?|heures?)\b")
_AMOUNT = re.compile(r"\b(\d+(?:[ .,]\d+)*)\)?\s*(millions?\s+d'euros|millions?\s+€|m€|k€|€|euros)")
_DIGIT_SEPARATORS = re.compile(r"[ .,]")
PARTIES = ("fabricant", "societe", "sous-traitant", "donneur d'ordre", "prestataire", "client", "fournisseur",
           "faconnier", "laboratoire", "partie destinataire", "partie emettrice", "responsable de traitement",
           "licencie", "concedant", "distributeur")
_PARTY = re.compile(r"\b(" + "|".join(re.escape(party) for party in PARTIES) + r")s?\b")
_NUMBERING = re.compile(r"^\s*(?:\*\*)?(?:article\s+)?[\dxX]+(?:\.\d+)*\s*[.)–-]?\s*", re.IGNORECASE)
_PRAISE = re.compile(r"\b(est|sont|semble|semblent|parait|reste|apparait)\s+(?:\w+\s+){0,2}(clair|complet|complete|"
                     r"conforme|satisfaisant|adequat|approprie|coherent|precis|equilibre|bien redige|correct)"
                     r"|bien redige|^(rien a signaler|aucun (point|ecart|probleme|risque|commentaire))"
                     r"|\bne (necessite|presente|appelle) (aucun|pas)")
_ACTION = re.compile(r"^(verifier|valider|confirmer|s'assurer|controler|preciser|faire|negocier|obtenir|demander)")


def library_entry(metadata: dict[str, str], text: str) -> dict[str, str]:
    """A clause read from the library on disk, shaped as the graph's search returns a retrieved one."""
    return {"id": metadata["id"], "title": f"{metadata['id']} — {metadata['titre']}", "type": metadata["type"],
            "jurisdiction": metadata["juridiction"], "risk": metadata["risque"], "text": text, "score": "0"}


def candidate_clauses(library: list[dict[str, str]], cited: list[str]) -> list[dict[str, str]]:
    """The retrieved clauses, plus the cited ones that were not retrieved (read from the library on disk).

    A model may copy a clause it cites from memory of the prompt's headings: the check must still find it.
    """
    retrieved = {clause["id"] for clause in library}
    missing = set(cited) - retrieved
    return [*library, *(library_entry(metadata, text) for metadata, text in library_clauses()
                        if metadata["id"] in missing)]


def clause_body(text: str) -> str:
    """The clause itself: a library chunk's `## Clause` section (no heading, no negotiation notes)."""
    body = text.split("## Clause", 1)[-1] if "## Clause" in text else text
    return body.split("## Points de négociation", 1)[0].strip()


def similarity(first: str, second: str) -> float:
    """How much two clause texts share (0–1), accents and case aside."""
    return SequenceMatcher(None, fold(first), fold(second), autojunk=False).ratio()


def starting_clause(draft: str, library: list[dict[str, str]], cited: list[str]) -> tuple[dict[str, str] | None,
                                                                                           float]:
    """The retrieved clause the draft started from: the closest by text, else the first one it cites."""
    scored = [(similarity(draft, clause_body(clause["text"])), clause) for clause in library]
    best_score, best = max(scored, key=lambda pair: pair[0], default=(0.0, None))
    if best is not None and best_score >= MIN_SIMILARITY:
        return best, best_score
    by_id = {clause["id"]: clause for clause in library}
    first_cited = next((by_id[clause_id] for clause_id in cited if clause_id in by_id), None)
    return first_cited, (similarity(draft, clause_body(first_cited["text"])) if first_cited else 0.0)


def durations(text: str) -> set[str]:
    """The durations a text states, normalized (« dix (10) ans », « 10 ans » → « 10 ans »)."""
    found = set()
    for number, unit in _DURATION.findall(fold(text)):
        value = int(number) if number.isdigit() else _NUMBER_WORDS[number]
        found.add(f"{value} {_UNITS[unit]}")
    return found


def amounts(text: str) -> set[str]:
    """The amounts a text states, as written (« 5 millions d'euros », « 50 000 € »)."""
    return {f"{_DIGIT_SEPARATORS.sub('', number)} {unit.strip()}"
            for number, unit in _AMOUNT.findall(fold(text))}


def parties(text: str) -> set[str]:
    """The parties a text names (Fabricant, Société, Sous-traitant…), accent-folded."""
    return {match.group(1) for match in _PARTY.finditer(fold(text))}


def provision_deviations(draft: str, base_id: str, base: str, request: str, named: str = "le texte proposé"
                         ) -> list[str]:
    """Durations, amounts and parties that differ from the library clause or from what the request asks."""
    found = []
    for name, read in (("Durée", durations), ("Montant", amounts), ("Parties", parties)):
        in_draft, in_base = read(draft), read(base)
        if in_draft != in_base:
            found.append(f"{name} : {_listed(in_base)} dans {base_id}, {_listed(in_draft)} dans {named}.")
    asked = durations(request)
    if asked - durations(draft):
        found.append(f"Durée demandée ({_listed(asked)}) absente d{'u' if named.startswith('le ') else 'e'} "
                     f"{named.removeprefix('le ')}, qui prévoit "
                     f"{_listed(durations(draft))}.")
    return found


def dropped_paragraphs(draft: str, base_id: str, base: str) -> list[str]:
    """The library paragraphs the draft no longer contains, nearly word for word (text diff by paragraph)."""
    kept = [_unnumbered(paragraph) for paragraph in _paragraphs(draft)]
    dropped = []
    for paragraph in _paragraphs(base):
        text = _unnumbered(paragraph)
        if len(text) > 40 and not any(similarity(text, other) >= KEPT_PARAGRAPH for other in kept):
            dropped.append(f"Paragraphe de {base_id} supprimé ou réécrit : « {text[:90].rstrip()}… »")
    return dropped


def computed_deviations(draft: str, base: dict[str, str], request: str, named: str = "le texte proposé") -> list[str]:
    """Every deviation of the draft from the clause it started from, computed from both texts."""
    body = clause_body(base["text"])
    return [*provision_deviations(draft, base["id"], body, request, named),
            *dropped_paragraphs(draft, base["id"], body)]


def is_self_assessment(point: str) -> bool:
    """Whether a legal-review point is the model praising its own text (« Le texte est clair et complet »)."""
    text = fold(point).strip(" -*•.:")
    return bool(_PRAISE.search(text)) and not _ACTION.match(text)


def review_points(points: list[str]) -> list[str]:
    """The model's legal-review points minus its self-assessments."""
    return [point.strip() for point in points if point.strip() and not is_self_assessment(point)]


def _listed(values: set[str]) -> str:
    return ", ".join(sorted(values)) if values else "aucune mention"


def _paragraphs(text: str) -> list[str]:
    return [paragraph.strip() for paragraph in re.split(r"\n\s*\n", text) if paragraph.strip()]


def _unnumbered(paragraph: str) -> str:
    return _NUMBERING.sub("", paragraph.strip()).strip()
