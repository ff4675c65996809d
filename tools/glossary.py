"""The GMP glossary FR↔EN (knowledge/glossary): find the terms of a text, check and enforce them.

Matching works on words without accents or case, with plurals folded (`lots` = `lot`, `batches` =
`batch`), longest term first; an acronym (`QP`, `API`, `BPF`) matches only in capitals. A term counts
as applied when one of its accepted translations is in the translated text.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from langchain_core.tools import tool

Direction = Literal["fr-en", "en-fr"]
GLOSSARY_FILE = Path(__file__).resolve().parents[1] / "knowledge" / "glossary" / "bpf-fr-en.csv"
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Term:
    """One way of writing a term, as word stems (an acronym keeps its capitals)."""

    text: str
    stems: tuple[str, ...]
    acronym: bool


@dataclass(frozen=True)
class GlossaryEntry:
    """One glossary line: the preferred term in each language and the accepted variants."""

    fr: str
    en: str
    fr_variants: tuple[str, ...] = ()
    en_variants: tuple[str, ...] = ()
    domain: str = ""

    def source_terms(self, direction: Direction) -> tuple[str, ...]:
        """How the term may be written in the text to translate."""
        return (self.fr, *self.fr_variants) if direction == "fr-en" else (self.en, *self.en_variants)

    def preferred(self, direction: Direction) -> str:
        """The translation the glossary imposes."""
        return self.en if direction == "fr-en" else self.fr

    def accepted(self, direction: Direction) -> tuple[str, ...]:
        """Every translation that counts as applying the glossary."""
        return (self.en, *self.en_variants) if direction == "fr-en" else (self.fr, *self.fr_variants)


@dataclass
class TermUse:
    """How one glossary term fared in a translation."""

    source: str
    target: str
    occurrences: int = 0
    applied: int = 0
    fixed: int = 0

    @property
    def status(self) -> str:
        """`appliqué`, `corrigé` (fixed after the model) or `manqué`, in French for the report."""
        if self.applied + self.fixed < self.occurrences:
            return "manqué"
        return "corrigé" if self.fixed else "appliqué"


@dataclass
class GlossaryReport:
    """Every glossary term met in a text and whether its translation followed the glossary."""

    direction: Direction
    uses: dict[str, TermUse] = field(default_factory=dict)

    @property
    def applied(self) -> list[TermUse]:
        """Terms whose every occurrence was translated as the glossary says (possibly after a fix)."""
        return [use for use in self.uses.values() if use.status != "manqué"]

    @property
    def missed(self) -> list[TermUse]:
        """Terms with at least one occurrence translated otherwise."""
        return [use for use in self.uses.values() if use.status == "manqué"]


def normalize(word: str) -> str:
    """Lower case, accents removed, plural folded: what two spellings of a word share."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    if len(plain) > 4 and plain.endswith("ies"):
        return plain[:-3] + "y"
    if len(plain) > 4 and plain.endswith(("ches", "shes", "sses", "xes")):
        return plain[:-2]
    if len(plain) > 3 and plain.endswith(("s", "x")) and not plain.endswith(("ss", "us", "is")):
        return plain[:-1]
    return plain


def _term(text: str) -> Term:
    words = _TOKEN.findall(text)
    return Term(text, tuple(normalize(word) for word in words), text.isupper() and len(words) == 1)


def _tokens(text: str) -> list[tuple[str, str]]:
    return [(word, normalize(word)) for word in _TOKEN.findall(text)]


@cache
def load_glossary(path: Path = GLOSSARY_FILE) -> tuple[GlossaryEntry, ...]:
    """Read the glossary CSV (`;`-separated: fr, en, fr_variantes, en_variantes, domaine; `|` between variants)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))

    def variants(value: str | None) -> tuple[str, ...]:
        return tuple(part.strip() for part in (value or "").split("|") if part.strip())

    return tuple(GlossaryEntry(row["fr"].strip(), row["en"].strip(), variants(row["fr_variantes"]),
                               variants(row["en_variantes"]), row.get("domaine", "").strip()) for row in rows)


@cache
def _source_index(direction: Direction, entries: tuple[GlossaryEntry, ...]) -> list[tuple[Term, GlossaryEntry]]:
    """Every source spelling with its entry, longest first (so `libération des lots` wins over `lot`)."""
    index = [(_term(text), entry) for entry in entries for text in entry.source_terms(direction)]
    return sorted((pair for pair in index if pair[0].stems), key=lambda pair: -len(pair[0].stems))


def _matches(tokens: list[tuple[str, str]], term: Term, start: int) -> bool:
    end = start + len(term.stems)
    if end > len(tokens):
        return False
    if any(tokens[start + offset][1] != stem for offset, stem in enumerate(term.stems)):
        return False
    return not term.acronym or tokens[start][0].isupper()


def find_terms(text: str, direction: Direction,
               entries: tuple[GlossaryEntry, ...] | None = None) -> list[tuple[str, GlossaryEntry]]:
    """The glossary terms present in `text` (the glossary's spelling), in text order; longest match wins."""
    entries = entries or load_glossary()
    tokens = _tokens(text)
    taken = [False] * len(tokens)
    # a term can only start where its first word is: thousands of terms, a few dozen words
    starts: dict[str, list[int]] = {}
    for index, (_word, stem) in enumerate(tokens):
        starts.setdefault(stem, []).append(index)
    found: list[tuple[int, str, GlossaryEntry]] = []
    for term, entry in _source_index(direction, entries):
        for start in starts.get(term.stems[0], ()):
            span = range(start, start + len(term.stems))
            if _matches(tokens, term, start) and not any(taken[i] for i in span):
                for i in span:
                    taken[i] = True
                found.append((start, term.text, entry))
    return [(written, entry) for _start, written, entry in sorted(found, key=lambda item: item[0])]


def contains_any(text: str, candidates: Iterable[str]) -> bool:
    """Whether one of `candidates` is in `text` (same matching rules as the source terms)."""
    tokens = _tokens(text)
    terms = [_term(candidate) for candidate in candidates]
    return any(_matches(tokens, term, start) for term in terms if term.stems for start in range(len(tokens)))


def relevant_entries(texts: Sequence[str], direction: Direction) -> list[tuple[str, str]]:
    """(source term, imposed translation) for the terms of `texts`: what the model is told to use."""
    pairs: dict[str, str] = {}
    for text in texts:
        for _written, entry in find_terms(text, direction):
            pairs.setdefault(entry.source_terms(direction)[0], entry.preferred(direction))
    return sorted(pairs.items())


def check_segment(source: str, translation: str, direction: Direction, report: GlossaryReport) -> str:
    """Record the glossary terms of one segment in `report`; return the translation with safe fixes.

    A fix is made only when it is unambiguous: translating into English, the model left a French
    term untranslated (a phrase, or a word with accents) and the glossary's term replaces it. Into
    French, nothing is replaced (articles and agreements around the term would have to change).
    """
    for _written, entry in find_terms(source, direction):
        key = entry.source_terms(direction)[0]
        use = report.uses.setdefault(key, TermUse(key, entry.preferred(direction)))
        use.occurrences += 1
        if contains_any(translation, entry.accepted(direction)):
            use.applied += 1
            continue
        fixed = _replace_left_untranslated(translation, entry, direction) if direction == "fr-en" else translation
        if fixed != translation:
            translation = fixed
            use.fixed += 1
    return translation


def _replace_left_untranslated(text: str, entry: GlossaryEntry, direction: Direction) -> str:
    for written in entry.source_terms(direction):
        if written in entry.accepted(direction) or not (" " in written or not written.isascii()):
            continue
        words = [re.escape(word) for word in written.split()]
        pattern = re.compile(r"(?<!\w)" + r"\s+".join(word + "(?:s|x)?" for word in words) + r"(?!\w)", re.IGNORECASE)
        match = pattern.search(text)
        if match:
            plural = len(match.group(0).split()) == len(words) and len(match.group(0)) > len(written)
            target = _plural(entry.preferred(direction), direction) if plural else entry.preferred(direction)
            if match.group(0)[0].isupper():
                target = target[0].upper() + target[1:]
            return text[:match.start()] + target + text[match.end():]
    return text


def _plural(term: str, direction: Direction) -> str:
    """English plurals on the last word (`batch records`), French on the first (`dossiers de lot`)."""
    words = term.split()
    position = -1 if direction == "fr-en" else 0
    word = words[position]
    if word.isupper():
        return term
    if direction == "fr-en":
        word = word[:-1] + "ies" if re.search(r"[^aeiou]y$", word) else word + ("es" if word.endswith(
            ("s", "x", "ch", "sh")) else "s")
    elif not word.endswith(("s", "x", "z")):
        word += "s"
    words[position] = word
    return " ".join(words)


def render_report(report: GlossaryReport) -> str:
    """The glossary report appended to a translation: counts, then one row per term met."""
    arrow = "FR→EN" if report.direction == "fr-en" else "EN→FR"
    if not report.uses:
        return f"**Glossaire BPF ({arrow})** : aucun terme du glossaire dans ce texte."
    fixed = sum(1 for use in report.uses.values() if use.status == "corrigé")
    lines = [f"**Glossaire BPF ({arrow})** : {len(report.applied)} terme(s) appliqué(s) "
             f"(dont {fixed} corrigé(s) automatiquement), {len(report.missed)} manqué(s).", "",
             "| Terme source | Terme imposé | Occurrences | Statut |", "|---|---|---|---|"]
    ordered = sorted(report.uses.values(), key=lambda use: (use.status != "manqué", use.source.lower()))
    lines += [f"| {use.source} | {use.target} | {use.occurrences} | {use.status} |" for use in ordered]
    return "\n".join(lines)


@tool
def lookup_gmp_term(term: str) -> str:
    """Give the glossary translation (FR↔EN) of a GMP term, e.g. 'lot' -> 'batch', 'deviation' -> 'écart'."""
    for direction in ("fr-en", "en-fr"):
        found = find_terms(term, direction)
        if found:
            return "; ".join(f"{written} → {entry.preferred(direction)}" for written, entry in found)
    return f"« {term} » n'est pas dans le glossaire BPF."
