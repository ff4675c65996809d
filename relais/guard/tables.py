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
    found += _table_of(text, block)
    if "INSERT" in text.upper():
        found += _sql_inserts(text)
    return tuple(found)


# « INSERT INTO staff (id, nom, salaire) VALUES (1, 'Diallo Awa', 3150.00), (2, …) »: a table too, its column
# list the header and each tuple of values a row (a comma missing between two tuples is still read).
_SQL_INSERT = regex.compile(r"(?i:\binsert\s+into\s+[\w.\"`\[\]]+\s*)\((?P<columns>[^()]*)\)\s*(?i:values)\s*")
_SQL_TUPLE = regex.compile(r"\s*,?\s*\((?P<values>(?:'[^'\n]*'|\"[^\"\n]*\"|[^()'\"\n])*)\)")
_SQL_VALUE = regex.compile(r"\s*(?:'[^'\n]*'|\"[^\"\n]*\"|[^,'\"]+)\s*")


def _sql_inserts(text: str) -> list[Table]:
    found = []
    for insert in _SQL_INSERT.finditer(text):
        header_cells = _sql_cells(text, *insert.span("columns"))
        rows = [header_cells]
        position = insert.end()
        while (values := _SQL_TUPLE.match(text, position)) is not None:
            cells = _sql_cells(text, *values.span("values"))
            if len(cells) == len(header_cells):
                rows.append(cells)
            position = values.end()
        if len(rows) > 1:
            found.append(Table(tuple(text[start:end].strip("`\"[]") for start, end in header_cells), tuple(rows)))
    return found


def _sql_cells(text: str, start: int, end: int) -> tuple[tuple[int, int], ...]:
    """The values of a SQL list, blanks and quotes trimmed."""
    cells = []
    for value in _SQL_VALUE.finditer(text, start, end):
        left, right = value.start(), value.end()
        while left < right and text[left].isspace():
            left += 1
        while right > left and text[right - 1].isspace():
            right -= 1
        if right - left >= 2 and text[left] == text[right - 1] and text[left] in "'\"":
            left, right = left + 1, right - 1
        cells.append((left, right))
    return tuple(cells)


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


_FIELD_BLANKS = regex.compile(r"[,;\s]")  # compiled once (see first_names._NAME_WORD)


def _blanked(field) -> str:
    """A quoted field with its commas, semicolons and blanks hidden, the same length (offsets hold)."""
    return _FIELD_BLANKS.sub("_", field.group())


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
