"""Markdown cut into translatable segments around a skeleton the model never sees.

The model translates only text (a heading's words, a table cell, a list item, a paragraph); the
Markdown around it (`#`, `|`, list markers and their numbers, indentation, code fences) is kept by
this module and put back verbatim. Tables keep their rows and columns, lists their items and numbering,
code blocks are never sent to the model: the structure is kept by construction, and
`markdown_structure()` checks it afterwards.

Why the skeleton is cut here and not by markdown-it-py: its tokens give each block's line range
but not the bytes around the words (`1)` or `1.`, indentation, a table's pipes and alignment row,
closing `#`s, a task box), and the translation must put those back as they were
(test_translation_split: rendered untranslated, a document comes back with the same markup and
words). The check, where only the shape counts, is markdown-it-py's (CommonMark + tables), so a
skeleton this module got wrong cannot vouch for itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

SegmentKind = Literal["paragraph", "inline", "cell"]

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^(\s{0,3}#{1,6}\s+)(.*?)(\s+#+\s*)?$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_LIST_ITEM = re.compile(r"^(\s*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?)(.*)$")
_QUOTE = re.compile(r"^(\s*(?:>\s?)+)(.*)$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_HTML_ONLY = re.compile(r"^\s*<[^>]+>\s*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]{2,}")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_HARD_BREAK = re.compile(r"(  |\\)$")
_LEADING_MARKUP = re.compile(r"^(#{1,6}\s+|[-*+]\s+|\d{1,9}[.)]\s+|\|\s*|>\s*)")
SEGMENT_MAX_CHARS = 600  # a longer paragraph is cut at sentence ends into several segments


@dataclass(frozen=True)
class Slot:
    """A place in the skeleton where segment `index` goes."""

    index: int


@dataclass
class Block:
    """A run of lines of one kind; each line is a list of verbatim strings and slots."""

    kind: str  # heading | paragraph | list | table | quote | code | rule | html | blank
    lines: list[list[str | Slot]] = field(default_factory=list)


@dataclass
class Segment:
    """A piece of text to translate and how its translation must be cleaned to fit back."""

    text: str
    kind: SegmentKind


@dataclass
class MarkdownDocument:
    """The skeleton (blocks of lines) and the segments it refers to."""

    blocks: list[Block]
    segments: list[Segment]

    def render(self, translations: list[str] | None = None) -> str:
        """The document with each slot filled by its translation (or its source text)."""
        return "\n".join(self.render_lines(translations))

    def render_lines(self, translations: list[str] | None = None) -> list[str]:
        """Every line of the document, filled in; the rendered text is these joined with newlines."""
        return [_fill(line, self.segments, translations) for block in self.blocks for line in block.lines]

    def line_slots(self) -> list[list[int]]:
        """For each line, the indexes of the segments it holds."""
        lines = [line for block in self.blocks for line in block.lines]
        return [[part.index for part in line if isinstance(part, Slot)] for line in lines]

    def block_slots(self, block: Block) -> list[int]:
        """The segment indexes of one block, in order."""
        return [part.index for line in block.lines for part in line if isinstance(part, Slot)]


def _fill(line: list[str | Slot], segments: list[Segment], translations: list[str] | None) -> str:
    pieces = []
    for part in line:
        if isinstance(part, Slot):
            source = segments[part.index]
            text = translations[part.index] if translations is not None else source.text
            pieces.append(fit_translation(text, source) if translations is not None else text)
        else:
            pieces.append(part)
    return "".join(pieces)


def fit_translation(text: str, source: Segment) -> str:
    """Clean a translated segment so it cannot break the skeleton (new lines, pipes, repeated markers)."""
    text = re.sub(r"\s*\n\s*", " ", text.strip())
    if not _starts_like_markup(source.text):
        # the model sometimes repeats a Markdown marker it was never given ("## Titre", "- item")
        text = _LEADING_MARKUP.sub("", text)
    if source.kind == "cell":
        text = _CELL_SPLIT.sub(r"\\|", text)
    return text or source.text


def _starts_like_markup(text: str) -> bool:
    return bool(_LEADING_MARKUP.match(text))


def is_translatable(text: str) -> bool:
    """Whether a piece holds words (numbers, dashes and codes alone are kept as they are)."""
    return bool(_WORD.search(_INLINE_CODE.sub("", text)))


class _Builder:
    def __init__(self) -> None:
        self.segments: list[Segment] = []

    def slot(self, text: str, kind: SegmentKind) -> list[str | Slot]:
        """Verbatim whitespace around a slot; text without words stays verbatim."""
        stripped = text.strip()
        if not is_translatable(stripped):
            return [text]
        lead = text[: len(text) - len(text.lstrip())]
        trail = text[len(text.rstrip()):]
        self.segments.append(Segment(stripped, kind))
        return [part for part in (lead, Slot(len(self.segments) - 1), trail) if part != ""]

    def paragraph(self, text: str) -> list[str | Slot]:
        """A paragraph's words, cut at sentence ends when long, so each segment stays short."""
        if len(text) <= SEGMENT_MAX_CHARS:
            return self.slot(text, "paragraph")
        parts: list[str | Slot] = []
        for index, piece in enumerate(_sentence_groups(text)):
            if index:
                parts.append(" ")
            parts.extend(self.slot(piece, "paragraph"))
        return parts


def _sentence_groups(text: str) -> list[str]:
    groups: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        if groups and len(groups[-1]) + len(sentence) + 1 <= SEGMENT_MAX_CHARS:
            groups[-1] += " " + sentence
        else:
            groups.append(sentence)
    return groups


def parse_markdown(text: str) -> MarkdownDocument:
    """Cut `text` into blocks and segments.

    `render()` with no translation gives `text` back, soft-wrapped paragraphs joined on one line.
    """
    builder = _Builder()
    lines = text.split("\n")
    blocks: list[Block] = []
    position = 0
    while position < len(lines):
        block, position = _next_block(lines, position, builder)
        blocks.append(block)
    return MarkdownDocument(blocks, builder.segments)


def _next_block(lines: list[str], start: int, builder: _Builder) -> tuple[Block, int]:
    line = lines[start]
    if not line.strip():
        return Block("blank", [[line]]), start + 1
    fence = _FENCE.match(line)
    if fence:
        return _code_block(lines, start, fence.group(1))
    heading = _HEADING.match(line)
    if heading:
        return Block("heading", [[heading.group(1), *builder.slot(heading.group(2), "inline"),
                                  heading.group(3) or ""]]), start + 1
    if _RULE.match(line) or _HTML_ONLY.match(line):
        return Block("rule" if _RULE.match(line) else "html", [[line]]), start + 1
    if _is_table_start(lines, start):
        return _table_block(lines, start, builder)
    if _LIST_ITEM.match(line):
        return _list_block(lines, start, builder)
    if _QUOTE.match(line):
        return _quote_block(lines, start, builder)
    return _paragraph_block(lines, start, builder)


def _code_block(lines: list[str], start: int, marker: str) -> tuple[Block, int]:
    end = start + 1
    while end < len(lines) and not (lines[end].strip().startswith(marker[0] * len(marker))
                                    and not lines[end].strip().strip(marker[0])):
        end += 1
    end = min(end + 1, len(lines))  # an unclosed fence runs to the end of the text
    return Block("code", [[line] for line in lines[start:end]]), end


def _is_table_start(lines: list[str], start: int) -> bool:
    return "|" in lines[start] and start + 1 < len(lines) and bool(_TABLE_SEPARATOR.match(lines[start + 1])) \
        and "|" in lines[start + 1]


def _table_block(lines: list[str], start: int, builder: _Builder) -> tuple[Block, int]:
    block = Block("table", [_table_row(lines[start], builder), [lines[start + 1]]])
    end = start + 2
    while end < len(lines) and lines[end].strip() and "|" in lines[end]:
        block.lines.append(_table_row(lines[end], builder))
        end += 1
    return block, end


def _table_row(line: str, builder: _Builder) -> list[str | Slot]:
    cells = _CELL_SPLIT.split(line)
    parts: list[str | Slot] = []
    for index, cell in enumerate(cells):
        if index:
            parts.append("|")
        parts.extend(builder.slot(cell, "cell") if cell.strip() else [cell])
    return parts


def _list_block(lines: list[str], start: int, builder: _Builder) -> tuple[Block, int]:
    block = Block("list")
    end = start
    while end < len(lines) and lines[end].strip():
        item = _LIST_ITEM.match(lines[end])
        if item:
            block.lines.append([item.group(1), *builder.slot(item.group(2), "inline")])
        elif _FENCE.match(lines[end]) or _HEADING.match(lines[end]) or _is_table_start(lines, end):
            break
        else:  # a continuation line of the item above, with its own indentation
            block.lines.append(builder.slot(lines[end], "inline"))
        end += 1
    return block, end


def _quote_block(lines: list[str], start: int, builder: _Builder) -> tuple[Block, int]:
    block = Block("quote")
    end = start
    while end < len(lines) and lines[end].strip() and (quote := _QUOTE.match(lines[end])):
        block.lines.append([quote.group(1), *builder.slot(quote.group(2), "inline")])
        end += 1
    return block, end


def _paragraph_block(lines: list[str], start: int, builder: _Builder) -> tuple[Block, int]:
    end = start
    while end < len(lines) and lines[end].strip() and (end == start or not _starts_block(lines, end)):
        end += 1
    chunk = lines[start:end]
    if len(chunk) > 1 and any(_HARD_BREAK.search(line) for line in chunk[:-1]):
        # hard line breaks (an address, a signature block): one segment per line
        return Block("paragraph", [builder.slot(line, "inline") for line in chunk]), end
    indent = chunk[0][: len(chunk[0]) - len(chunk[0].lstrip())]
    joined = " ".join(line.strip() for line in chunk)
    return Block("paragraph", [[indent, *builder.paragraph(joined)]]), end


def _starts_block(lines: list[str], index: int) -> bool:
    line = lines[index]
    return bool(_FENCE.match(line) or _HEADING.match(line) or _LIST_ITEM.match(line) or _QUOTE.match(line)
                or _RULE.match(line) or _is_table_start(lines, index))


def plan_chunks(document: MarkdownDocument, max_chars: int) -> list[list[int]]:
    """Group segment indexes into chunks under `max_chars`, cutting between blocks when possible.

    A heading travels with the block that follows it. A block longer than the limit (a big table)
    is cut between its segments (rows, cells), which keeps the structure: the skeleton is never sent.
    """
    chunks: list[list[int]] = []
    size = 0
    for indexes in _units(document):
        unit_size = sum(len(document.segments[index].text) for index in indexes)
        if chunks and size + unit_size <= max_chars:
            chunks[-1].extend(indexes)
            size += unit_size
            continue
        chunks.append([])
        size = 0
        for index in indexes:
            length = len(document.segments[index].text)
            if chunks[-1] and size + length > max_chars:
                chunks.append([])
                size = 0
            chunks[-1].append(index)
            size += length
    return chunks


def _units(document: MarkdownDocument) -> list[list[int]]:
    """The segment indexes of each block, a heading's joined to the next block's."""
    units: list[list[int]] = []
    pending: list[int] = []
    for block in document.blocks:
        indexes = document.block_slots(block)
        if not indexes:
            continue
        if block.kind == "heading":
            pending.extend(indexes)
            continue
        units.append(pending + indexes)
        pending = []
    return units + ([pending] if pending else [])


@dataclass(frozen=True)
class Structure:
    """What must survive a translation: headings, tables' shapes, list items, code blocks."""

    headings: tuple[int, ...]  # heading levels, in order
    tables: tuple[tuple[int, int], ...]  # (rows, columns) of each table, separator row excluded
    list_items: tuple[str, ...]  # each item's marker (numbering included)
    code_blocks: tuple[str, ...]  # the code blocks, verbatim

    def differences(self, other: Structure) -> list[str]:
        """What differs from `other`, in French, for the report (empty when identical)."""
        labels = {"headings": "titres", "tables": "tableaux", "list_items": "éléments de liste",
                  "code_blocks": "blocs de code"}
        return [f"{label} : {getattr(self, name)!r} ≠ {getattr(other, name)!r}"
                for name, label in labels.items() if getattr(self, name) != getattr(other, name)]


def markdown_structure(text: str) -> Structure:
    """The structure of a Markdown text, independent of its words, as a CommonMark parser reads it.

    markdown-it-py (CommonMark with GFM tables), not this module's own splitter: the translation is
    checked by an independent parser, so a skeleton the splitter got wrong cannot vouch for itself.
    """
    tokens = _markdown_parser().parse(text)
    headings = tuple(int(token.tag[1]) for token in tokens if token.type == "heading_open")
    items = tuple(_item_marker(tokens, index) for index, token in enumerate(tokens) if token.type == "list_item_open")
    code = tuple(token.content for token in tokens if token.type in ("fence", "code_block"))
    return Structure(headings, _table_shapes(tokens), items, code)


@cache
def _markdown_parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


def _table_shapes(tokens: list[Any]) -> tuple[tuple[int, int], ...]:
    """(rows, columns) of each table: header and body rows (no separator), header cells."""
    shapes, rows, columns = [], 0, 0
    for token in tokens:
        if token.type == "table_open":
            rows, columns = 0, 0
        elif token.type == "tr_open":
            rows += 1
        elif token.type == "th_open":
            columns += 1
        elif token.type == "table_close":
            shapes.append((rows, columns))
    return tuple(shapes)


def _item_marker(tokens: list[Any], index: int) -> str:
    """A list item's marker as written (« 1. », « - »), with a task box (« - [ ] ») when it has one."""
    token = tokens[index]
    marker = f"{token.info}{token.markup}" if token.info else token.markup
    inline = next((later for later in tokens[index + 1:] if later.type == "inline"), None)
    box = re.match(r"\[[ xX]\](?=\s)", inline.content) if inline is not None else None
    return f"{marker} {box.group(0)}" if box else marker


def inline_code_spans(text: str) -> list[str]:
    """The `code` spans of a text (identifiers, values), which a translation must keep as they are."""
    return _INLINE_CODE.findall(text)
