"""Excel exports (openpyxl): one sheet per table, a bold frozen header, filters and readable widths.

Every cell holds text from a model or a user, so text that starts like a formula is stored as text
(`keep_literal`): a model (or a prompt injected into a page it read) can never plant a live formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from relais.documents import ExportedFile, safe_file_name, save_export

MAX_COLUMN_WIDTH = 60
# Fill colours for a column of risk classes (FMEA): the reader sees the high risks at a glance.
RISK_FILLS = {"Élevé": "F4B6B6", "Moyen": "FCE4B0", "Faible": "C9E7C1"}
# A spreadsheet program reads a cell starting with one of these as a formula (OWASP, "CSV injection");
# tab and carriage return are on OWASP's list because some programs strip them before looking.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Sheet:
    """One worksheet: a header row, then rows of text or numbers (numbers stay numbers)."""

    name: str
    headers: Sequence[str]
    rows: Sequence[Sequence[str | int | float]]
    # The header of a column holding risk classes, coloured by `RISK_FILLS`.
    risk_column: str | None = None
    notes: Sequence[str] = field(default_factory=tuple)


def write_xlsx(sheets: Sequence[Sheet], path: Path) -> None:
    """Write the sheets into one workbook at `path`.

    Raises:
        ValueError: when there is no sheet to write.
    """
    from openpyxl import Workbook

    if not sheets:
        raise ValueError("an Excel export needs at least one sheet")
    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        _fill_sheet(book.create_sheet(_sheet_title(sheet.name)), sheet)
    book.save(str(path))


def _sheet_title(name: str) -> str:
    # Excel refuses these characters and titles over 31 characters.
    cleaned = "".join(" " if char in "[]:*?/\\" else char for char in name).strip()
    return (cleaned or "Feuille")[:31]


def keep_literal(cell) -> None:  # noqa: ANN001 - openpyxl Cell
    """Store a text cell that starts like a formula as plain text, shown exactly as written.

    openpyxl turns any string starting with `=` into a formula; the cell is set back to a string, and
    Excel's quote prefix keeps it text even when someone edits the cell later. The text is unchanged.
    """
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS):
        cell.data_type = "s"
        cell.quotePrefix = True


def _fill_sheet(worksheet, sheet: Sheet) -> None:  # noqa: ANN001 - openpyxl Worksheet
    from openpyxl.styles import Alignment, Font, PatternFill

    worksheet.append(list(sheet.headers))
    for cell in worksheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="D9E1F2")
        keep_literal(cell)
    for row in sheet.rows:
        worksheet.append(list(row))
    risk = sheet.risk_column
    risk_index = list(sheet.headers).index(risk) + 1 if risk is not None and risk in sheet.headers else None
    for row in worksheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            keep_literal(cell)
        if risk_index and (colour := RISK_FILLS.get(str(row[risk_index - 1].value))):
            row[risk_index - 1].fill = PatternFill("solid", fgColor=colour)
    _size_columns(worksheet, sheet)
    worksheet.freeze_panes = "A2"
    if sheet.rows:
        worksheet.auto_filter.ref = worksheet.dimensions
    for offset, note in enumerate(sheet.notes, start=len(sheet.rows) + 3):
        cell = worksheet.cell(row=offset, column=1, value=note)
        cell.font = Font(italic=True)
        keep_literal(cell)


def _size_columns(worksheet, sheet: Sheet) -> None:  # noqa: ANN001
    from openpyxl.utils import get_column_letter

    for index, header in enumerate(sheet.headers, start=1):
        longest = max([len(str(header))] + [len(str(row[index - 1])) for row in sheet.rows if len(row) >= index])
        worksheet.column_dimensions[get_column_letter(index)].width = min(MAX_COLUMN_WIDTH, longest + 2)


def export_xlsx(sheets: Sequence[Sheet], file_title: str, *, user_id: str) -> ExportedFile:
    """Write the sheets as an .xlsx export and return its download link, signed for `user_id`."""
    name = safe_file_name(file_title, "xlsx")
    return save_export(name, lambda path: write_xlsx(sheets, path), user_id=user_id)
