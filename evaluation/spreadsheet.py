"""Human grading: the answers exported to .xlsx for the experts, their grades imported back.

The experts fill in three columns (0–10, checked by the spreadsheet itself) and a comment; the
import validates every cell again and names the cell of each mistake. Each import names its expert,
and every expert's grades are kept side by side.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from agents.computer_validation.spreadsheets import keep_literal
from evaluation.grid import CRITERIA, final_score
from evaluation.results import EXPERTS_FILE, Run, consensus, expert_key, grades_by_expert, read_expert_lines

SHEET = "Notation"
# (header, width) of each column; the expert columns are found back by their header on import.
COLUMNS: list[tuple[str, int]] = [
    ("ID", 10), ("Question", 45), ("Agent", 18), ("Réponse", 80), ("Sources", 45),
    ("Juge exactitude", 11), ("Juge complétude", 11), ("Juge forme", 11), ("Juge note finale", 11),
    ("Justifications du juge", 50),
    ("Expert exactitude", 11), ("Expert complétude", 11), ("Expert forme", 11), ("Expert note finale", 11),
    ("Commentaires", 50),
]
EXPERT_HEADERS = {"accuracy": "Expert exactitude", "completeness": "Expert complétude", "format": "Expert forme"}
COMMENT_HEADER = "Commentaires"
# Our own live formula for the expert's final mark; every other cell holds text or a number, never a formula.
FINAL_FORMULA_COLUMN = [header for header, _ in COLUMNS].index("Expert note finale") + 1
MAX_CELL = 32_000  # Excel refuses cells over 32,767 characters


class SpreadsheetError(ValueError):
    """Grades that cannot be imported; the message lists each bad cell."""


def _sources_text(row: dict) -> str:
    return "\n".join(f"- {source.get('title', '')}" for source in row.get("sources") or [])


def _judge_cells(row: dict) -> list:
    judge = row.get("judge") or {}
    reasons = "\n".join(f"{name} : {judge.get(name + '_justification', '')}" for name in CRITERIA if judge)
    return [judge.get("accuracy"), judge.get("completeness"), judge.get("format"), judge.get("final"), reasons]


def _expert_final_formula(line: int) -> str:
    first, last = f"K{line}", f"M{line}"
    return f'=IF(COUNT({first}:{last})=3,0.5*K{line}+0.3*L{line}+0.2*M{line},"")'


def _add_validation(sheet, last_line: int) -> None:
    rule = DataValidation(type="decimal", operator="between", formula1="0", formula2="10", allow_blank=True,
                          showErrorMessage=True, errorTitle="Note invalide",
                          error="Saisissez une note entre 0 et 10.")
    sheet.add_data_validation(rule)
    rule.add(f"K2:M{max(last_line, 2)}")


def export_xlsx(run: Run, path: Path) -> Path:
    """Write the grading workbook for a run: one line per answered question."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    sheet.append([header for header, _ in COLUMNS])
    for index, (_, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.cell(row=1, column=index).font = Font(bold=True)
    expert_fill = PatternFill("solid", fgColor="FFF2CC")
    for row in run.rows:
        if row.get("error"):
            continue
        line = sheet.max_row + 1
        cells = [row["id"], row["question"], (row.get("route") or {}).get("label") or row.get("agent"),
                 str(row.get("answer", ""))[:MAX_CELL], _sources_text(row)[:MAX_CELL], *_judge_cells(row),
                 None, None, None, _expert_final_formula(line), None]
        sheet.append(cells)
        for column in range(1, len(COLUMNS) + 1):
            cell = sheet.cell(row=line, column=column)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if column != FINAL_FORMULA_COLUMN:  # questions, answers, sources, justifications: never formulas
                keep_literal(cell)
        for column in (11, 12, 13, 15):
            sheet.cell(row=line, column=column).fill = expert_fill
    sheet.freeze_panes = "C2"
    _add_validation(sheet, sheet.max_row)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def _grade(value: object, cell: str, errors: list[str]) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(str(value).replace(",", "."))  # a number, or text with a French decimal comma
    except (TypeError, ValueError):
        errors.append(f"cellule {cell} : {value!r} n'est pas un nombre (note attendue entre 0 et 10)")
        return None
    if not 0 <= number <= 10:
        errors.append(f"cellule {cell} : {number:g} est hors de l'échelle 0 à 10")
        return None
    return number


def _columns(sheet) -> dict[str, int]:
    headers = {str(cell.value).strip(): cell.column for cell in sheet[1] if cell.value}
    wanted = ["ID", *EXPERT_HEADERS.values(), COMMENT_HEADER]
    missing = [header for header in wanted if header not in headers]
    if missing:
        raise SpreadsheetError(f"columns missing from sheet {sheet.title!r}: {', '.join(missing)}")
    return headers


def read_grades(path: Path, known_ids: set[str]) -> list[dict]:
    """The experts' grades from a workbook; rows left blank are skipped.

    Raises:
        SpreadsheetError: the file or sheet is missing, or cells hold invalid grades (each named).
    """
    path = Path(path)
    if not path.is_file():
        raise SpreadsheetError(f"workbook {path} not found")
    workbook = load_workbook(path)
    if SHEET not in workbook.sheetnames:
        raise SpreadsheetError(f"{path}: no sheet named {SHEET!r} (was it exported by `relais eval export`?)")
    sheet = workbook[SHEET]
    columns = _columns(sheet)
    grades: list[dict] = []
    errors: list[str] = []
    for line in range(2, sheet.max_row + 1):
        question_id = sheet.cell(row=line, column=columns["ID"]).value
        if question_id is None:
            continue
        marks: dict[str, float | None] = {}
        for name, header in EXPERT_HEADERS.items():
            cell = sheet.cell(row=line, column=columns[header])
            marks[name] = _grade(cell.value, cell.coordinate, errors)
        comment = sheet.cell(row=line, column=columns[COMMENT_HEADER]).value
        filled = [value for value in marks.values() if value is not None]
        if str(question_id) not in known_ids:
            errors.append(f"cellule A{line} : identifiant {question_id!r} absent des résultats")
        elif len(filled) == len(marks):
            complete = {name: mark for name, mark in marks.items() if mark is not None}
            grades.append({"id": str(question_id), **marks, "final": final_score(**complete),
                           "comment": str(comment or "")})
        elif filled:
            errors.append(f"ligne {line} : notez les trois critères ou aucun (question {question_id})")
    if errors:
        raise SpreadsheetError(f"{path}: {len(errors)} erreur(s)\n" + "\n".join(errors))
    return grades


def import_xlsx(run: Run, path: Path, expert: str) -> list[dict]:
    """Import one expert's grades into the run folder (experts.jsonl), keeping every other expert's.

    A new import by the same expert (same name, whatever its case or spacing) replaces all of that
    expert's earlier grades with the workbook's; the other experts' grades are never touched.
    `run.expert_grades` and `run.experts` (their consensus) are updated.

    Raises:
        SpreadsheetError: the expert is not named, or the workbook cannot be imported (see `read_grades`).
    """
    name = " ".join(expert.split())
    if not name:
        raise SpreadsheetError("name the expert whose grades these are (--expert NAME): each expert's grades are kept")
    grades = read_grades(path, {str(row["id"]) for row in run.rows})
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    imported = [{"expert": name, **grade, "imported_at": stamp, "workbook": Path(path).name} for grade in grades]
    kept = [line for line in read_expert_lines(run.folder)
            if expert_key(str(line.get("expert") or "")) != expert_key(name)]
    _write_lines_atomically(run.folder / EXPERTS_FILE, [*kept, *imported])
    run.expert_grades = grades_by_expert([*kept, *imported])
    run.experts = consensus(run.expert_grades)
    return imported


def _write_lines_atomically(path: Path, lines: list[dict]) -> None:
    """Write JSON Lines through a temporary file: a failed write never loses the other experts' grades."""
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
