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
    grades = import_xlsx(run, path, "Dr Martin")
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
        import_xlsx(run, path, "Dr Martin")
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
        import_xlsx(run, path, "Dr Martin")
    other = Run(tmp_path, {}, [])
    from openpyxl import Workbook

    Workbook().save(tmp_path / "other.xlsx")
    with pytest.raises(SpreadsheetError, match="no sheet named"):
        import_xlsx(other, tmp_path / "other.xlsx", "Dr Martin")
    with pytest.raises(SpreadsheetError, match="not found"):
        import_xlsx(other, tmp_path / "absent.xlsx", "Dr Martin")


def test_export_keeps_model_text_as_text_and_the_final_mark_formula_live(tmp_path):
    run = make_run(tmp_path / "run", count=1)
    run.rows[0].update(question="+33 6 12 34 56 78 ?", answer='=HYPERLINK("http://evil.example","ici")',
                       sources=[{"title": "@SUM(1,1)"}])
    run.rows[0]["judge"]["accuracy_justification"] = "-1+1"
    path = export_xlsx(run, tmp_path / "notes.xlsx")
    sheet = load_workbook(path)[SHEET]
    for coordinate in ("B2", "D2", "E2", "J2"):
        assert sheet[coordinate].data_type == "s", coordinate
    assert sheet["D2"].value == '=HYPERLINK("http://evil.example","ici")'  # unchanged, only not a formula
    assert sheet["N2"].data_type == "f"  # our own formula for the expert's final mark stays live


def test_each_experts_grades_are_kept_and_a_reimport_replaces_only_that_experts(tmp_path):
    from evaluation.agreement import agreement, between_experts

    run = make_run(tmp_path / "run")
    first, second = export_xlsx(run, tmp_path / "martin.xlsx"), export_xlsx(run, tmp_path / "durand.xlsx")
    fill(first, {2: (6, 6, 6), 3: (8, 8, 8)}, comment="vu")
    fill(second, {2: (4, 4, 4), 3: (8, 8, 8), 4: (10, 10, 10)}, comment="ok")
    import_xlsx(run, first, "Dr Martin")
    import_xlsx(run, second, "Mme Durand")
    reloaded = load_run(tmp_path / "run")
    assert sorted(reloaded.expert_grades) == ["Dr Martin", "Mme Durand"]
    assert reloaded.expert_grades["Dr Martin"]["q0"]["accuracy"] == 6
    assert reloaded.experts["q0"]["accuracy"] == 5 and reloaded.experts["q0"]["experts"] == 2  # their mean
    assert reloaded.experts["q2"]["accuracy"] == 10 and reloaded.experts["q2"]["experts"] == 1
    [pair] = between_experts(reloaded)
    assert pair["experts"] == ("Dr Martin", "Mme Durand")
    assert pair["criteria"]["accuracy"]["pairs"] == 2
    assert pair["criteria"]["accuracy"]["mean_abs_diff"] == 1.0  # (|6-4| + |8-8|) / 2
    assert agreement(reloaded)["accuracy"]["pairs"] == 3

    again = export_xlsx(run, tmp_path / "martin-2.xlsx")
    fill(again, {4: (2, 2, 2)})
    import_xlsx(run, again, "  dr  MARTIN ")  # the same expert, written differently
    reloaded = load_run(tmp_path / "run")
    assert sorted(reloaded.expert_grades) == ["Mme Durand", "dr MARTIN"]
    assert set(reloaded.expert_grades["dr MARTIN"]) == {"q2"}  # Dr Martin's earlier grades are replaced
    assert reloaded.expert_grades["Mme Durand"]["q0"]["accuracy"] == 4  # Mme Durand's are untouched
    assert reloaded.experts["q2"]["accuracy"] == 6  # (2 + 10) / 2


def test_an_import_needs_the_experts_name(tmp_path):
    run = make_run(tmp_path / "run")
    path = export_xlsx(run, tmp_path / "notes.xlsx")
    fill(path, {2: (5, 4, 6)})
    with pytest.raises(SpreadsheetError, match="--expert"):
        import_xlsx(run, path, "   ")
    assert not (tmp_path / "run" / EXPERTS_FILE).exists()


def test_grades_imported_before_experts_were_named_are_kept(tmp_path):
    run = make_run(tmp_path / "run")
    (tmp_path / "run" / EXPERTS_FILE).write_text(json.dumps(
        {"id": "q1", "accuracy": 9, "completeness": 9, "format": 9, "final": 9, "comment": ""}) + "\n")
    path = export_xlsx(run, tmp_path / "notes.xlsx")
    fill(path, {3: (5, 5, 5)})
    import_xlsx(run, path, "Dr Martin")
    reloaded = load_run(tmp_path / "run")
    assert sorted(reloaded.expert_grades) == ["(expert sans nom)", "Dr Martin"]
    assert reloaded.experts["q1"]["accuracy"] == 7


def test_cli_import_requires_an_expert_and_reports_every_expert(tmp_path, capsys):
    from cli.main import main as relais_main

    run = make_run(tmp_path / "run")
    first, second = export_xlsx(run, tmp_path / "a.xlsx"), export_xlsx(run, tmp_path / "b.xlsx")
    fill(first, {2: (6, 6, 6), 3: (8, 8, 8), 4: (3, 3, 3)})
    fill(second, {2: (5, 5, 5), 3: (8, 8, 8), 4: (4, 4, 4)})
    with pytest.raises(SystemExit):
        relais_main(["eval", "import", str(tmp_path / "run"), "--xlsx", str(first)])
    capsys.readouterr()
    assert relais_main(["eval", "import", str(tmp_path / "run"), "--xlsx", str(first), "--expert", "A"]) == 0
    assert relais_main(["eval", "import", str(tmp_path / "run"), "--xlsx", str(second), "--expert", "B"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["imported"] == 3 and printed["expert"] == "B" and printed["experts"] == ["A", "B"]
    assert printed["between_experts"][0]["experts"] == ["A", "B"]
    assert printed["between_experts"][0]["final"]["pairs"] == 3


def test_report_shows_agreement_between_experts(tmp_path):
    from evaluation.report import render_report

    run = make_run(tmp_path / "run")
    for name, marks in (("Dr Martin", (6, 6, 6)), ("Mme Durand", (4, 4, 4))):
        path = export_xlsx(run, tmp_path / f"{name}.xlsx")
        fill(path, {2: marks, 3: marks, 4: marks})
        import_xlsx(run, path, name)
    html = render_report([load_run(tmp_path / "run")])
    assert "Accord entre experts" in html and "Dr Martin / Mme Durand" in html
