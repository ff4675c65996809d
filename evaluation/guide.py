"""What the automatic checks need from the GMP guide: its text and the references that exist.

This is a stand-in for `retrievers.search.known_references(collection)` and the guide loader of the
knowledge layer: once those land, `load_guide_reference()` should build `GuideReference` from them
(see the swap notes in `evaluation.checks`). The parsing here is deliberately coarse: it only needs
to tell an existing paragraph from an invented one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

GUIDE_FILE = "guide-bpf-2019.txt"

_SPACES = re.compile(r"\s+")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00ab": '"', "\u00bb": '"',
                              "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\ufffe": ""})
_PART_HEADING = re.compile(r"^PARTIE\s+(IV|III|II|I)\b")
_ANNEXES_HEADING = re.compile(r"^ANNEXES\s*$")
_ANNEX_HEADING = re.compile(r"^(?:ANNEXE\s+(\d+)\s*:|LD\.?\s?(\d+)\.)")
_CHAPTER_HEADING = re.compile(r"^CHAPITRE\s+(\d+)\b")
_PARAGRAPH = re.compile(r"^(\d{1,2}(?:\.\d{1,3}){1,2})\.?\s")
# Chapter and section counts stated by the guide's table of contents (Part I has nine chapters).
_NUMBERED_CHAPTERS = {"I": 9, "II": 20, "IV": 17}


def normalise(text: str) -> str:
    """Text as quotations are compared: NFC, typographic quotes and dashes folded, white space collapsed."""
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES)
    return _SPACES.sub(" ", text).strip().casefold()


def annex_id(chapter: str) -> str:
    """`LD.1`, `LD 1`, `Annexe 1` and `1` name the same annex: keep the number."""
    return re.sub(r"(?i)^(?:LD\.?\s*|annexe\s+)", "", chapter.strip())


@dataclass
class GuideReference:
    """The guide as the checks see it: normalised text and the (part, …) pairs that exist."""

    text: str  # normalised with `normalise`
    paragraphs: set[tuple[str, str]] = field(default_factory=set)  # (part, paragraph), e.g. ("I", "2.10")
    chapters: set[tuple[str, str]] = field(default_factory=set)  # (part, chapter), e.g. ("Annexes", "11")

    def contains(self, quote: str) -> bool:
        """Whether a quotation occurs verbatim in the guide (after `normalise`)."""
        wanted = normalise(quote)
        return bool(wanted) and wanted in self.text


def read_guide_text(bpf_dir: Path) -> str:
    """The raw guide text (Windows-1252 on disk), line ends unified to newlines."""
    path = Path(bpf_dir) / GUIDE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"GMP guide text not found at {path} (set RELAIS_BPF_SOURCE)")
    return path.read_bytes().decode("cp1252", errors="replace").replace("\r\n", "\n").replace("\r", " ")


def _heading_part(line: str, current: tuple[str, str | None]) -> tuple[str, str | None] | None:
    if match := _PART_HEADING.match(line):
        return match.group(1), None
    if _ANNEXES_HEADING.match(line):
        return "Annexes", None
    if current[0] == "Annexes" and (match := _ANNEX_HEADING.match(line)):
        return "Annexes", match.group(1) or match.group(2)
    return None


def known_references_from_text(raw_text: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """The (part, paragraph) and (part, chapter) pairs found in the guide's headings and numbering."""
    paragraphs: set[tuple[str, str]] = set()
    chapters: set[tuple[str, str]] = set()
    state: tuple[str, str | None] = ("", None)
    for line in raw_text.split("\n"):
        line = line.strip()
        if (heading := _heading_part(line, state)) is not None:
            state = heading
            if state[1]:
                chapters.add(state)
            continue
        part, annex = state
        if not part:
            continue
        if part == "I" and (match := _CHAPTER_HEADING.match(line)):
            chapters.add((part, match.group(1)))
        elif match := _PARAGRAPH.match(line):
            number = match.group(1)
            paragraphs.add((part, number))
            if annex:
                paragraphs.add((f"Annexe {annex}", number))
    chapters |= {(part, str(n)) for part, count in _NUMBERED_CHAPTERS.items() for n in range(1, count + 1)}
    return paragraphs, chapters


def load_guide_reference(bpf_dir: Path) -> GuideReference:
    """Read the guide once and index what the citation checks need."""
    raw = read_guide_text(bpf_dir)
    paragraphs, chapters = known_references_from_text(raw)
    return GuideReference(text=normalise(raw), paragraphs=paragraphs, chapters=chapters)
