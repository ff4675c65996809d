"""Automatic checks that need no model: citations, gold coverage, /bpf format, refusal, routing.

Quotations and references are checked by `retrievers.citations`, the code the regulatory agent
runs on its own answers, against the whole guide.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from evaluation.dataset import EvalItem, GoldReference
from evaluation.guide import GuideReference
from retrievers.bpf_references import Reference, chapter_key, expand_paragraphs, find_references, part_key
from retrievers.citations import find_quotes, normalise

# Route methods where the supervisor's router chose the agent (graph `route.method`); "explicit" (the
# agent asked for) and "slash" (a slash command) are given by the request and say nothing about routing.
ROUTER_METHODS = frozenset({"local", "model"})
# Consecutive words of a gold quote an answer's quotation must repeat to count as quoting that paragraph.
QUOTE_OVERLAP_WORDS = 6

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


def annex_id(chapter: str) -> str:
    """`LD.1`, `LD 1`, `Annexe 1` and `1` name the same annex: keep the number."""
    return re.sub(r"(?i)^(?:LD\.?\s*|annexe\s+)", "", chapter.strip())


def _folded(text: str) -> str:
    """Text as a gold quote is looked up in the retrieved sources: normalised, case folded."""
    return normalise(text).casefold()


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("’", "'"))
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


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
    bits = [f"Annexe {chapter}" if part == "Annexes" else f"Partie {part or '?'}"]
    if chapter and part != "Annexes":
        bits.append(f"chapitre {chapter}")
    if paragraph:
        bits.append(f"§{paragraph}")
    return ", ".join(bits)


def _gold_label(gold: GoldReference) -> str:
    where = f"Annexe {annex_id(gold.chapter)}" if gold.part == "Annexes" else f"Partie {gold.part}"
    if gold.part == "III":
        where += f", {gold.chapter}"
    return f"{where}, §{gold.paragraph}"


def _paragraph_number(paragraph: str) -> str:
    """"4.2 (Surveillance ...)" -> "4.2"; "Principe" stays a label."""
    return paragraph.split()[0].rstrip(".") if paragraph.strip() else paragraph


def _names_gold(reference: Reference, gold: GoldReference) -> bool:
    """Whether a reference of the answer points at the gold paragraph (or, for an unnumbered one, its chapter)."""
    if reference.part is None or part_key(reference.part) != part_key(gold.part):
        return False
    # Paragraph numbers of Parties I, II and IV carry their chapter; annexes and Partie III texts do not.
    # The parser names ICH Q9/Q10 but not Partie III's other texts (excipients, batch certificate):
    # for those, "Partie III" with the paragraph is as precise as an answer can be read.
    unnamed_text = gold.part == "III" and not gold.chapter.upper().startswith("ICH") and reference.chapter is None
    same_text = unnamed_text or chapter_key(reference.chapter or "") == chapter_key(gold.chapter)
    if gold.part in ("Annexes", "III") and not same_text:
        return False
    number = _paragraph_number(gold.paragraph)
    if not number[:1].isdigit():  # "Principe", "Introduction": the chapter named without a paragraph
        return reference.paragraph is None and same_text
    return reference.paragraph is not None and number in expand_paragraphs(reference.paragraph)


def _shares_words(quotation: str, gold_quote: str, words: int = QUOTE_OVERLAP_WORDS) -> bool:
    """Whether an answer's quotation repeats the gold quote, or a run of `words` consecutive words of it."""
    quoted, gold_text = _folded(quotation), _folded(gold_quote)
    if gold_text in quoted or (len(quoted.split()) >= words and quoted in gold_text):
        return True
    tokens = gold_text.split()
    return any(" ".join(tokens[i : i + words]) in quoted for i in range(len(tokens) - words + 1))


def gold_coverage(answer: str, sources: Iterable[Mapping], gold: Iterable[GoldReference]) -> dict:
    """Which gold paragraphs the answer cites or quotes, and which the retrieved sources held.

    Cited: a reference of the answer (parsed by `retrievers.bpf_references`, the regulatory agent's own
    parser; references inside a quotation are the guide's words, not the answer's) names the paragraph.
    Quoted: a quotation of the answer (`retrievers.citations.find_quotes`) repeats the gold quote or
    `QUOTE_OVERLAP_WORDS` consecutive words of it. Retrieved: the gold quote is in a source's text.
    `share` is the answer's coverage (cited or quoted); `retrieved_share` the retrieval's.
    """
    gold = list(gold)
    quotes = find_quotes(answer)
    inline = [(quote.start, quote.end) for quote in quotes if not quote.block]
    references = [ref for ref in find_references(answer) if not any(a <= ref.start < b for a, b in inline)]
    source_texts = [_folded(str(source.get("text", ""))) for source in sources]
    per_gold = []
    for item in gold:
        quote = _folded(item.quote)
        per_gold.append({
            "reference": _gold_label(item),
            "cited": any(_names_gold(ref, item) for ref in references),
            "quoted": bool(item.quote) and any(_shares_words(q.text, item.quote) for q in quotes),
            "retrieved": bool(quote) and any(quote in text for text in source_texts),
        })
    used = [entry for entry in per_gold if entry["cited"] or entry["quoted"]]
    retrieved = [entry for entry in per_gold if entry["retrieved"]]

    def share(count: int) -> float | None:
        return count / len(gold) if gold else None

    return {"gold": len(gold), "covered": len(used), "share": share(len(used)),
            "retrieved": len(retrieved), "retrieved_share": share(len(retrieved)),
            "cited": [e["reference"] for e in per_gold if e["cited"]],
            "quoted": [e["reference"] for e in per_gold if e["quoted"]],
            "missing": [e["reference"] for e in per_gold if not (e["cited"] or e["quoted"])],
            "paragraphs": per_gold}


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
    """Whether the supervisor's router picked the agent the dataset expects.

    Only a route the router decided (`ROUTER_METHODS`) is graded: when the request named its agent
    (an explicit model, a slash command) the route is given, not chosen, and `correct` is None.
    """
    route = route or {}
    label, method = route.get("label"), str(route.get("method") or "")
    routed = method.split("+")[0] in ROUTER_METHODS  # "local+access": the access policy acted after routing
    graded = routed and item.expected_agent is not None
    return {"expected": item.expected_agent, "label": label, "routed": routed,
            "correct": label == item.expected_agent if graded else None,
            "method": method or None, "confidence": route.get("confidence")}


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
