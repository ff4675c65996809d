"""The translated document as a Word file: the Markdown skeleton's blocks mapped to `relais.documents` blocks.

The translation keeps the source's skeleton (split.py), so the .docx is built from the same blocks:
headings keep their level, tables their rows and columns, lists their items, code blocks their text.
"""

from __future__ import annotations

import re

from agents.translation.split import MarkdownDocument
from relais.documents import Block, BulletList, Heading, NumberedList, Paragraph, RichDocument, Table

_HEADING_MARKS = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+\s*)?$")
_LIST_MARKER = re.compile(r"^\s*(?:([-*+])|(\d{1,9})[.)])\s+(?:\[[ xX]\]\s+)?")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_QUOTE_MARKS = re.compile(r"^\s*(?:>\s?)+")
_FENCE_LINE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")


def translated_document(document: MarkdownDocument, translations: list[str], title: str,
                        subtitle: str = "") -> RichDocument:
    """The translation of `document` as a `RichDocument`, block by block."""
    lines = document.render_lines(translations)
    blocks: list[Block] = []
    position = 0
    for block in document.blocks:
        block_lines = lines[position:position + len(block.lines)]
        position += len(block.lines)
        converted = _convert(block.kind, block_lines)
        if converted is not None:
            blocks.append(converted)
    return RichDocument(title=title, blocks=tuple(blocks), subtitle=subtitle)


def _convert(kind: str, lines: list[str]) -> Block | None:
    if kind == "heading":
        match = _HEADING_MARKS.match(lines[0])
        return Heading(match[2], level=len(match[1])) if match else Paragraph(lines[0].strip())
    if kind == "list":
        return _list(lines)
    if kind == "table":
        return _table(lines)
    if kind == "quote":
        return Paragraph("\n".join(_QUOTE_MARKS.sub("", line) for line in lines).strip())
    if kind == "code":
        return Paragraph("\n".join(line for line in lines if not _FENCE_LINE.match(line)))
    if kind == "paragraph":
        return Paragraph("\n".join(line.strip() for line in lines))
    return None  # blank lines, rules and lone HTML tags carry no text


def _list(lines: list[str]) -> Block:
    items: list[str] = []
    numbered = False
    for line in lines:
        marker = _LIST_MARKER.match(line)
        if marker:
            numbered = numbered or (not items and marker[2] is not None)
            items.append(line[marker.end():].strip())
        elif items:  # a continuation line belongs to the item above
            items[-1] += " " + line.strip()
        else:
            items.append(line.strip())
    return NumberedList(items) if numbered else BulletList(items)


def _table(lines: list[str]) -> Table:
    rows = [_cells(line) for index, line in enumerate(lines) if index != 1]  # line 1 is the |---| separator
    width = max(len(row) for row in rows)
    padded = [row + [""] * (width - len(row)) for row in rows]
    return Table(headers=padded[0], rows=padded[1:])


def _cells(line: str) -> list[str]:
    cells = _CELL_SPLIT.split(line.strip())
    if cells and not cells[0].strip():
        cells = cells[1:]
    if cells and not cells[-1].strip():
        cells = cells[:-1]
    return [cell.strip().replace("\\|", "|") for cell in cells]
