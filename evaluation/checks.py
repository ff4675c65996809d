"""Automatic checks that need no model: citations, gold coverage, /bpf format, refusal, routing.

Quotations and references are checked by `retrievers.citations`, the code the regulatory agent
runs on its own answers, against the whole guide.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from evaluation.dataset import EvalItem, GoldReference
from evaluation.guide import GuideReference
from retrievers.citations import normalise

_TAIL = r"(?:[\s,;–-]*(?:chapitre|chapter|chap\.|section)\s*(?P<chapter>\d{1,2})\b)?" \
        r"(?:[\s,;–-]*(?:§|paragraphe|paragraph|point|para\.)?\s*(?P<paragraph>\d{1,2}(?:\.\d{1,3}){1,2})\b)?"
_PART_REF = re.compile(r"\b(?:Partie|Part)\s+(?P<part>IV|III|II|I)\b" + _TAIL, re.IGNORECASE)
_ANNEX_REF = re.compile(r"(?:\b(?:Annexe|Annex)\s+|\bLD\.?\s?)(?P<annex>\d{1,2})\b" + _TAIL, re.IGNORECASE)

# Headings of the /bpf structured answer, by the first words a heading may start with (accents removed).
BPF_SECTIONS: dict[str, tuple[str, ...]] = {
    "parties": ("parties concernees", "partie(s) concernee", "parties du guide"),
    "references": ("references",),
    "resume": ("resume", "synthese", "en bref"),
    "comparaison": ("comparaison", "comparatif"),
    "details": ("details", "detail", "analyse detaillee", "developpement"),
    "citations": ("citations", "extraits", "citation"),
    "fiabilite": ("fiabilite", "indice de fiabilite", "niveau de fiabilite"),
}
_REFUSALS = re.compile(
    r"ne (?:couvre|traite|aborde|mentionne|contient|precise|fixe|donne|prevoit|definit) (?:pas|aucun)"
    r"|n'(?:aborde|evoque|indique|impose|etablit) (?:pas|aucun)|aucune? (?:information|mention|disposition|exigence)"
    r"|(?:pas|non) (?:couvert|traite|aborde)|hors du (?:champ|perimetre)|does not (?:cover|address|mention|specify|set)"
    r"|not covered|no (?:information|mention|requirement)|❌"
)


@dataclass(frozen=True)
class Citation:
    """A reference found in an answer, e.g. Partie I, chapitre 2, §2.10."""

    part: str  # "I".."IV" or "Annexes"
    chapter: str | None
    paragraph: str | None

    def __str__(self) -> str:
        bits = [f"Annexe {self.chapter}" if self.part == "Annexes" else f"Partie {self.part}"]
        if self.chapter and self.part != "Annexes":
            bits.append(f"chapitre {self.chapter}")
        if self.paragraph:
            bits.append(f"§{self.paragraph}")
        return ", ".join(bits)


def annex_id(chapter: str) -> str:
    """`LD.1`, `LD 1`, `Annexe 1` and `1` name the same annex: keep the number."""
    return re.sub(r"(?i)^(?:LD\.?\s*|annexe\s+)", "", chapter.strip())


def _folded(text: str) -> str:
    """Text as a gold quote is looked up in the retrieved sources: normalised, case folded."""
    return normalise(text).casefold()


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("’", "'"))
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def extract_references(answer: str) -> list[Citation]:
    """Every part/annex reference of an answer, in order, without repeats."""
    found: list[tuple[int, Citation]] = []
    for match in _PART_REF.finditer(answer):
        found.append((match.start(), Citation(match["part"].upper(), match["chapter"], match["paragraph"])))
    for match in _ANNEX_REF.finditer(answer):
        found.append((match.start(), Citation("Annexes", annex_id(match["annex"]), match["paragraph"])))
    return list(dict.fromkeys(citation for _, citation in sorted(found, key=lambda pair: pair[0])))


def check_citations(answer: str, guide: GuideReference) -> dict:
    """Citation validity as the regulatory agent verifies it: quotations verbatim in the guide, references existing."""
    from retrievers.citations import verify_answer

    report = verify_answer(answer, [guide.document], guide.known, guide.chapters)
    quotes = [*report.verified_quotes, *report.removed_quotes]
    references = [*report.valid_references, *report.invalid_references]
    bad_quotes = [quote.text for quote in report.removed_quotes]
    bad_references = [_described(reference) for reference in report.invalid_references]
    return {
        "quotes": len(quotes),
        "quotes_valid": len(quotes) - len(bad_quotes),
        "invalid_quotes": bad_quotes,
        "references": len(references),
        "references_valid": len(references) - len(bad_references),
        "invalid_references": bad_references,
        "cited_references": [_described(reference) for reference in references],
        "valid": not bad_quotes and not bad_references,
    }


def _described(reference: object) -> str:
    part, chapter, paragraph = (getattr(reference, name) for name in ("part", "chapter", "paragraph"))
    return str(Citation(part or "?", chapter, paragraph))


def _paragraph_number(paragraph: str) -> str:
    return paragraph.split()[0].rstrip(".") if paragraph.strip() else paragraph


def _gold_cited(gold: GoldReference, references: Iterable[Citation]) -> bool:
    number = _paragraph_number(gold.paragraph)
    for ref in references:
        same_part = ref.part == gold.part or (ref.part == "Annexes" and gold.part == "Annexes"
                                               and ref.chapter == annex_id(gold.chapter))
        if same_part and ref.paragraph == number:
            return True
    return False


def gold_coverage(answer: str, sources: Iterable[Mapping], gold: Iterable[GoldReference]) -> dict:
    """Share of gold paragraphs the answer cites or whose quote is among the retrieved sources."""
    gold = list(gold)
    references = extract_references(answer)
    source_texts = [_folded(str(source.get("text", ""))) for source in sources]
    missing = []
    for item in gold:
        quote = _folded(item.quote)
        in_sources = bool(quote) and any(quote in text for text in source_texts)
        if not (in_sources or _gold_cited(item, references)):
            missing.append(f"{item.part} {item.chapter} §{item.paragraph}")
    covered = len(gold) - len(missing)
    return {"gold": len(gold), "covered": covered, "share": covered / len(gold) if gold else None,
            "missing": missing}


def sections_present(answer: str) -> dict[str, bool]:
    """Swap point: which /bpf sections the answer has, by the words its headings start with."""
    starts = []
    for line in answer.splitlines():
        stripped = re.sub(r"^[\s#*_>\-–•\d.)]*", "", _plain(line))
        stripped = re.sub(r"^[^\w(]+", "", stripped)  # emoji and symbols before a heading
        if stripped:
            starts.append(stripped)
    return {key: any(start.startswith(keys) for start in starts) for key, keys in BPF_SECTIONS.items()}


def format_compliance(answer: str) -> dict:
    """The /bpf structured format: which sections are present and the share of them."""
    present = sections_present(answer)
    return {"sections": present, "share": sum(present.values()) / len(present),
            "missing": [key for key, ok in present.items() if not ok]}


def is_refusal(answer: str) -> bool:
    """Whether the answer says the guide does not cover the question."""
    return bool(_REFUSALS.search(_plain(answer)))


def refusal_check(answer: str, item: EvalItem) -> dict:
    """Correct refusal: an unanswerable question must be declined, an answerable one must not."""
    refused = is_refusal(answer)
    if item.gold is None and item.type != "unanswerable":
        return {"refused": refused, "expected": None, "correct": None}
    return {"refused": refused, "expected": item.unanswerable, "correct": refused == item.unanswerable}


def routing_check(item: EvalItem, route: Mapping | None) -> dict:
    """Whether the supervisor picked the agent the dataset expects."""
    label = (route or {}).get("label")
    correct = None if item.expected_agent is None else label == item.expected_agent
    return {"expected": item.expected_agent, "label": label, "correct": correct,
            "method": (route or {}).get("method"), "confidence": (route or {}).get("confidence")}


def _about_the_guide(item: EvalItem, route: Mapping | None) -> bool:
    agents = {item.agent, item.expected_agent, (route or {}).get("label")}
    return item.gold is not None or "regulatory_analysis" in agents


def run_checks(
    item: EvalItem, answer: str, sources: list[Mapping], route: Mapping | None, guide: GuideReference | None
) -> dict:
    """All the automatic checks that apply to one answer (None where a check does not apply)."""
    checks: dict = {"routing": routing_check(item, route), "refusal": refusal_check(answer, item)}
    checks["citations"] = check_citations(answer, guide) if guide and _about_the_guide(item, route) else None
    checks["coverage"] = gold_coverage(answer, sources, item.gold) if item.gold else None
    checks["format"] = format_compliance(answer) if item.structured else None
    return checks
