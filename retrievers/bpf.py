"""Structure of the French GMP guide (BPF 2019): parts, chapters or annexes, headings, numbered paragraphs.

The text export has no markup: structure is recovered from the numbering conventions of each part.
- Part I: `CHAPITRE N : TITRE`, paragraphs `N.x` (the préambule and introduction are chapters too).
- Parts II and IV: chapters `N. TITRE`, sub-section headings `N.M. Titre`, paragraphs `N.xy`.
- Part III: four documents (ICH Q9, ICH Q10, the batch certificate, the excipients guideline) with their
  own numbering (`1.5.1.`, `II.1`...).
- Annexes: `LD.N. TITRE` or `ANNEXE N : TITRE` (numbers only increase, so `ANNEXE 3` inside LD.13 is
  not a new annex), paragraphs numbered `118.`, `4.8.` or `1.5.5`.
Line numbers count LF characters only, as `grep -n` does; stray carriage returns split a line into segments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

PARTS = ("I", "II", "III", "IV", "Annexes")

_SPACES = re.compile(r"[ \t\u00a0\u202f]+")
_PART_HEADING = re.compile(r"^PARTIE\s+(IV|III|II|I)\b(.*)$")
_CONTENTS = re.compile(r"^table des mati[èe]res$", re.IGNORECASE)
_ANNEXES_HEADING = re.compile(r"^ANNEXES$")
_PART_I_CHAPTER = re.compile(r"^CHAPITRE\s+(\d+)\s*:\s*(.+)$")
_PART_I_PREFACE = re.compile(r"^(PRÉAMBULE|PREAMBULE|INTRODUCTION)$")
_NUMBERED_CHAPTER = re.compile(r"^(\d{1,2})\.\s+(.+)$")
_ANNEX_HEADING = re.compile(r"^(?:LD\s?\.?\s?(\d{1,2})\b\.?|ANNEXE\s+(\d{1,2})\s*:)\s*(.*)$")
_NUMBERED = re.compile(r"^((?:[IVX]+\.)?\d{1,3}(?:\.\d{1,3})*)(?:\.(?=\s|-)|(?=\s))[\s\-]*(.*)$")
# Part III: each document starts with a recognisable title line.
PART_III_DOCUMENTS = (
    (re.compile(r"\(ICH Q9\)\s*$", re.IGNORECASE), "ICH Q9"),
    (re.compile(r"\(ICH Q10\)\s*$", re.IGNORECASE), "ICH Q10"),
    (re.compile(r"^Exigences internationales harmonisées pour la certification", re.IGNORECASE), "Certificat de lot"),
    (re.compile(r"^Lignes directrices du 19 mars 2015", re.IGNORECASE), "Excipients"),
)
_TITLE_MAX = 110
# Numbered list items start with an article ("3. La revue de ..."); chapter titles never do.
_DETERMINER = re.compile(r"^(?:l[ae]s?|une?|des|du|l['’])\b", re.IGNORECASE)
_FOOTNOTE_CALL = re.compile(r"(?<=[A-ZÀ-Ý]{3})\d$")


@dataclass
class Block:
    """A run of text under one paragraph number (or one heading when the text is not numbered)."""

    part: str
    chapter: str
    chapter_title: str
    section: str
    paragraph: str
    line: int
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The block's text, one source line per line."""
        return "\n".join(self.lines).strip()


@dataclass
class _Cursor:
    part: str = ""
    chapter: str = ""
    chapter_title: str = ""
    chapter_number: int = 0
    section: str = ""
    paragraph: str = ""


def clean_line(text: str) -> str:
    """Collapse runs of blanks (tabs, no-break spaces) into one space and trim."""
    return _SPACES.sub(" ", text).strip()


def is_title(text: str) -> bool:
    """Whether a line reads like a heading: short and without sentence punctuation at its end."""
    return 0 < len(text) <= _TITLE_MAX and not text.endswith((".", ";", ":", ",", "!", "?")) or text.isupper()


@dataclass(frozen=True)
class Segment:
    """One CR-separated piece of a source line."""

    line: int
    text: str
    line_start: bool  # first piece of its line (later pieces are table cells or run-on text)
    table_of_contents: bool  # the raw line looks like a table-of-contents entry (tab, page number, pieces)


def segments(raw_text: str) -> Iterator[Segment]:
    """Yield the cleaned CR-separated pieces of each line, with their line number."""
    for number, raw in enumerate(raw_text.split("\n"), start=1):
        pieces = raw.rstrip("\r").split("\r")
        toc_like = "\t" in raw or len(pieces) > 1
        for index, piece in enumerate(pieces):
            cleaned = clean_line(piece)
            if cleaned:
                yield Segment(number, cleaned, index == 0, toc_like)


class GuideParser:
    """Turn the guide's text into blocks; one instance per parse."""

    def __init__(self) -> None:
        self.cursor = _Cursor()
        self.blocks: list[Block] = []
        self.annex_number = 0
        self._seen_parts: list[str] = []
        self._contents: list[str] | None = None

    def parse(self, raw_text: str) -> list[Block]:
        """Parse the whole guide (table of contents skipped) into blocks, in reading order."""
        for segment in segments(raw_text):
            number, text = segment.line, segment.text
            if self._skipping_contents(text):
                continue
            if segment.line_start and self._structure(number, text, segment.table_of_contents):
                continue
            if not self.cursor.part:
                continue  # the guide's table of contents
            self._body(number, text, segment.line_start)
        return [block for block in self.blocks if block.text]

    # -- headings that change part or chapter ------------------------------------------------------------
    def _skipping_contents(self, text: str) -> bool:
        """Skip a part's own table of contents: from its title until its first entry comes back."""
        if self.cursor.part and _CONTENTS.match(text):
            self._contents = []
            return True
        if self._contents is None:
            return False
        if self._contents and text.casefold() == self._contents[0]:
            self._contents = None
            return False
        self._contents.append(text.casefold())
        return True

    def _structure(self, number: int, text: str, toc_like: bool) -> bool:
        match = _PART_HEADING.match(text)
        if match and not toc_like and match.group(1) not in self._seen_parts and self._in_order(match.group(1)):
            self._enter_part(match.group(1), number)
            return True
        if _ANNEXES_HEADING.match(text) and self.cursor.part == "IV":
            self._enter_part("Annexes", number)
            return True
        if not self.cursor.part:
            return False
        return self._chapter_heading(number, text)

    def _in_order(self, part: str) -> bool:
        expected = PARTS[len(self._seen_parts)] if len(self._seen_parts) < len(PARTS) else None
        return part == expected

    def _enter_part(self, part: str, number: int) -> None:
        self._seen_parts.append(part)
        self.cursor = _Cursor(part=part)
        self._open_block(number)

    def _chapter_heading(self, number: int, text: str) -> bool:
        part = self.cursor.part
        if part == "I":
            return self._part_one_chapter(number, text)
        if part in ("II", "IV"):
            return self._numbered_chapter(number, text)
        if part == "III":
            return self._part_three_document(number, text)
        return self._annex(number, text)

    def _part_one_chapter(self, number: int, text: str) -> bool:
        match = _PART_I_CHAPTER.match(text)
        if match:
            self._enter_chapter(number, match.group(1), match.group(2), int(match.group(1)))
            return True
        if _PART_I_PREFACE.match(text) and self.cursor.chapter_number == 0:
            self._enter_chapter(number, text.capitalize().replace("Preambule", "Préambule"), text, 0)
            return True
        return False

    def _numbered_chapter(self, number: int, text: str) -> bool:
        if text.upper() == "GLOSSAIRE" and self.cursor.part == "IV":
            self._enter_chapter(number, "Glossaire", text, self.cursor.chapter_number + 1)
            return True
        match = _NUMBERED_CHAPTER.match(text)
        if not match or not is_title(match.group(2)) or _DETERMINER.match(match.group(2)):
            return False
        chapter = int(match.group(1))
        if chapter != self.cursor.chapter_number + 1:
            return False
        self._enter_chapter(number, str(chapter), match.group(2), chapter)
        return True

    def _part_three_document(self, number: int, text: str) -> bool:
        # documents come in a fixed order: a later line quoting "(ICH Q9)" is a citation, not a title
        for index, (pattern, name) in enumerate(PART_III_DOCUMENTS, start=1):
            if index > self.cursor.chapter_number and pattern.search(text):
                self._enter_chapter(number, name, text, index)
                return True
        return False

    def _annex(self, number: int, text: str) -> bool:
        match = _ANNEX_HEADING.match(text)
        if not match:
            return False
        annex = int(match.group(1) or match.group(2))
        if annex <= self.annex_number:
            return False  # e.g. "ANNEXE 3" of LD.13 is an appendix, not a new annex
        self.annex_number = annex
        chapter = f"LD.{annex}" if match.group(1) else str(annex)
        self._enter_chapter(number, chapter, match.group(3).strip(" .") or text, annex)
        return True

    def _enter_chapter(self, number: int, chapter: str, title: str, chapter_number: int) -> None:
        title = _FOOTNOTE_CALL.sub("", clean_line(title))
        self.cursor = _Cursor(part=self.cursor.part, chapter=chapter, chapter_title=title,
                              chapter_number=chapter_number)
        self._open_block(number)

    # -- body: headings inside a chapter, numbered paragraphs, continuation lines -------------------------
    def _body(self, number: int, text: str, line_start: bool) -> None:
        numbered = _NUMBERED.match(text)
        if numbered and self._is_paragraph_number(numbered.group(1)):
            label, rest = numbered.group(1), numbered.group(2)
            heading = line_start and is_title(rest) and not rest.isdigit()
            if heading and self.cursor.part in ("I", "II", "IV"):
                # "7.4. Stockage": a sub-section title; its paragraphs are numbered 7.40, 7.41...
                self.cursor.section, self.cursor.paragraph = f"{label} {rest}", ""
            else:
                # annexes and Part III number their headings like paragraphs: "6. Contrôle d'exactitude"
                self.cursor.section = rest if heading else self.cursor.section
                self.cursor.paragraph = label
            self._open_block(number, text)
            return
        if line_start and is_title(text) and not numbered:
            self._sub_heading(number, text)
            return
        self.blocks[-1].lines.append(text)

    def _is_paragraph_number(self, label: str) -> bool:
        part, chapter = self.cursor.part, self.cursor.chapter
        if part in ("I", "II", "IV"):
            return label.startswith(f"{chapter}.") and chapter.isdigit()
        return bool(chapter)

    def _sub_heading(self, number: int, text: str) -> None:
        self.cursor.section = text
        if text.isupper() or text.upper() == "GLOSSAIRE":
            self.cursor.paragraph = ""  # a major heading ends the previous paragraph
        self._open_block(number, text)

    def _open_block(self, number: int, first_line: str | None = None) -> None:
        cursor = self.cursor
        block = Block(part=cursor.part, chapter=cursor.chapter, chapter_title=cursor.chapter_title,
                      section=cursor.section, paragraph=cursor.paragraph, line=number)
        if first_line:
            block.lines.append(first_line)
        self.blocks.append(block)


def parse_guide(raw_text: str) -> list[Block]:
    """Parse the guide's normalised text (CRLF already turned into LF) into blocks in reading order."""
    return GuideParser().parse(raw_text)


def heading_only(block: Block) -> bool:
    """Whether a block holds only its heading line (nothing worth indexing on its own)."""
    return len(block.lines) <= 1 and is_title(block.text) and not block.paragraph
