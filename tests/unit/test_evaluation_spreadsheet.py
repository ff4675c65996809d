import json

import pytest
from openpyxl import load_workbook

from evaluation.results import EXPERTS_FILE, Run, load_run
from evaluation.spreadsheet import SHEET, SpreadsheetError, export_xlsx, import_xlsx


def make_run(folder, count=4):
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"id": f"q{i}", "question": f"Question {i} ?", "agent": "regulatory_analysis",
             "route": {"label": "regulatory_analysis"}, "answer": f"Réponse {i}",
             "sources": [{"title": f"BPF Partie I §2.{i}", "text": "..."}],
             "judge": {"accuracy": 5 + i, "completeness": 4 + i, "format": 6 + i, "final": 0.5 * (5 + i)
                       + 0.3 * (4 + i) + 0.2 * (6 + i), "accuracy_justification": "juste",
                       "completeness_justification": "complet", "format_justification": "clair"}}
            for i in range(count)]
    rows.append({"id": "broken", "question": "?", "error": "RuntimeError: boom"})
    (folder / "manifest.json").write_text(json.dumps({"config": "A"}))
    (folder / "results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return load_run(folder)


def fill(path, grades, comment="RAS"):
    workbook = load_workbook(path)
    sheet = workbook[SHEET]
    for line, marks in grades.items():
        for column, value in zip("KLM", marks, strict=True):
            sheet[f"{column}{line}"] = value
        sheet[f"O{line}"] = comment
    workbook.save(path)


def test_export_has_the_grid_columns_judge_marks_and_validated_expert_cells(tmp_path):
    run = make_run(tmp_path / "run")
    path = export_xlsx(run, tmp_path / "notes.xlsx")
    sheet = load_workbook(path)[SHEET]
    headers = [cell.value for cell in sheet[1]]
    assert headers[:2] == ["ID", "Question"] and "Expert exactitude" in headers and headers[-1] == "Commentaires"
    assert sheet.max_row == 5  # four answers; the erroring line is left out
    assert sheet["F2"].value == 5 and sheet["I2"].value == pytest.approx(0.5 * 5 + 0.3 * 4 + 0.2 * 6)
    assert sheet["K2"].value is None and sheet["N2"].value.startswith("=IF(COUNT(K2:M2)=3")
    rules = sheet.data_validations.dataValidation
    assert len(rules) == 1 and rules[0].type == "decimal" and str(rules[0].sqref) == "K2:M5"
    assert (rules[0].formula1, rules[0].formula2) == ("0", "10")


def test_round_trip_imports_grades_and_computes_agreement(tmp_path):
    run = make_run(tmp_path / "run")
    path = export_xlsx(run, tmp_path / "notes.xlsx")
    fill(path, {2: (5, 4, 6), 3: ("7,5", 5, 7), 4: (7, 6, 8)})  # row 5 left blank: not graded yet
    grades = import_xlsx(run, path)
    assert [grade["id"] for grade in grades] == ["q0", "q1", "q2"]
    assert grades[1]["accuracy"] == 7.5 and grades[1]["final"] == pytest.approx(0.5 * 7.5 + 0.3 * 5 + 0.2 * 7)
    assert grades[0]["comment"] == "RAS"
    reloaded = load_run(tmp_path / "run")
    assert set(reloaded.experts) == {"q0", "q1", "q2"}
    assert (tmp_path / "run" / EXPERTS_FILE).is_file()
    from evaluation.agreement import agreement

    figures = agreement(reloaded)
    assert figures["accuracy"]["pairs"] == 3
    assert figures["accuracy"]["mean_abs_diff"] == pytest.approx((0 + 1.5 + 0) / 3)
    assert figures["accuracy"]["pearson"] is not None


def test_bad_cells_are_named_and_nothing_is_imported(tmp_path):
    run = make_run(tmp_path / "run")
    path = export_xlsx(run, tmp_path / "notes.xlsx")
    fill(path, {2: (5, 4, 6), 3: (12, 5, 7), 4: ("bien", 6, 8), 5: (5, None, None)})
    with pytest.raises(SpreadsheetError) as error:
        import_xlsx(run, path)
    message = str(error.value)
    assert "K3" in message and "hors de l'échelle" in message
    assert "K4" in message and "'bien'" in message
    assert "ligne 5" in message
    assert not (tmp_path / "run" / EXPERTS_FILE).exists()


def test_unknown_ids_and_foreign_workbooks_are_refused(tmp_path):
    run = make_run(tmp_path / "run")
    path = export_xlsx(run, tmp_path / "notes.xlsx")
    workbook = load_workbook(path)
    workbook[SHEET]["A2"] = "q99"
    workbook.save(path)
    with pytest.raises(SpreadsheetError, match="A2.*q99"):
        import_xlsx(run, path)
    other = Run(tmp_path, {}, [])
    from openpyxl import Workbook

    Workbook().save(tmp_path / "other.xlsx")
    with pytest.raises(SpreadsheetError, match="no sheet named"):
        import_xlsx(other, tmp_path / "other.xlsx")
    with pytest.raises(SpreadsheetError, match="not found"):
        import_xlsx(other, tmp_path / "absent.xlsx")
