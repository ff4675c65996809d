"""Rows and cells of the tables people paste: Markdown tables, CSV (`;` or `,`) and tab-separated lines.

A name in a table cell has none of the evidence a sentence gives (no title, no "signé par"), but
the table's header does ("Nom", "Prénom", "Opérateur"), and so does a first name in the next cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import regex

# A rule under a header: Markdown (« |---|:--:| »), or a SQL client's (« ------+------ », « +----+----+ »).
_RULE_ROW = regex.compile(r"^\s*[|+]?\s*:?-{2,}:?\s*(?:[|+]\s*:?-{2,}:?\s*)*[|+]?\s*$")
# A quoted CSV field (« "Mensah, Adjoa" »): its commas and blanks separate nothing.
_QUOTED_FIELD = regex.compile(r'(?<![^,;\t])"[^"\n]*"(?=[,;\t]|$)')
_CSV_SEPARATORS = (";", "\t", ",")


@dataclass(frozen=True)
class Table:
    """A block of consecutive rows with the same separator and number of cells.

    `header` is the text of the first row's cells; `rows` holds every row, the first included, as
    the (start, end) of each cell in the whole text, blanks trimmed.
    """

    header: tuple[str, ...]
    rows: tuple[tuple[tuple[int, int], ...], ...]


@lru_cache(maxsize=64)  # persons, salaries and birth dates each read the same text's tables
def tables(text: str) -> tuple[Table, ...]:
    """The tables of a text, a single separated line included."""
    found: list[Table] = []
    block: list[tuple[tuple[int, int], ...]] = []  # the rows so far, each its cells' (start, end)
    block_kind = None
    position = 0
    for line in text.split("\n"):
        kind = _row_kind(line)
        if kind is None or _RULE_ROW.match(line):
            if kind is None and not ("+" in line and _RULE_ROW.match(line)):  # a SQL client's rule row goes on
                found += _table_of(text, block)
                block, block_kind = [], None
            position += len(line) + 1
            continue
        cells = _cells(line, position, kind)
        if block and (kind != block_kind or len(cells) != len(block[0])):
            found += _table_of(text, block)
            block = []
        block.append(cells)
        block_kind = kind
        position += len(line) + 1
    return (*found, *_table_of(text, block))


def _row_kind(line: str) -> str | None:
    stripped = _QUOTED_FIELD.sub(_blanked, line.strip())
    if stripped.startswith("|") and stripped.count("|") >= 2:
        return "|"
    if stripped.count(" | ") >= 2:
        return " | "  # « Employee | Grade | Base (EUR) »: a pasted row without the outer pipes
    for separator in _CSV_SEPARATORS:
        # A sentence has commas followed by a space; a CSV row has none, and at least two separators.
        if separator == "," and (", " in stripped or stripped.count(",") < 2):
            continue
        if stripped.count(separator) >= 1 and (separator != ";" or "; " not in stripped):
            return separator
    return None


def _blanked(field) -> str:
    """A quoted field with its commas, semicolons and blanks hidden, the same length (offsets hold)."""
    return regex.sub(r"[,;\s]", "_", field.group())


def _cells(line: str, offset: int, separator: str) -> tuple[tuple[int, int], ...]:
    spans, start = [], 0
    parts = line.split(separator)
    if separator in _CSV_SEPARATORS and '"' in line:
        # « E2231,"Mensah, Adjoa",Tours »: split where the line with its quoted fields hidden has a separator
        parts, position = [], 0
        for part in _QUOTED_FIELD.sub(_blanked, line).split(separator):
            parts.append(line[position : position + len(part)])
            position += len(part) + len(separator)
    if separator == "|":
        # "| a | b |": the text before the first pipe and after the last one are not cells.
        first, last = line.index("|"), line.rindex("|")
        parts = line[first + 1 : last].split("|")
        start = first + 1
    for part in parts:
        left = len(part) - len(part.lstrip())
        right = len(part.rstrip())
        if right - left >= 2 and part[left] == part[right - 1] == '"':
            left, right = left + 1, right - 1  # a quoted cell is its text, without the quotes
        spans.append((offset + start + left, offset + start + max(left, right)))
        start += len(part) + len(separator)
    return tuple(spans)


def _table_of(text: str, block: list[tuple[tuple[int, int], ...]]) -> list[Table]:
    if not block:
        return []
    header = tuple(text[start:end] for start, end in block[0])
    return [Table(header, tuple(block))]
