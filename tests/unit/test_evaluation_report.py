from html.parser import HTMLParser
from pathlib import Path

import pytest

from evaluation.charts import bar_chart, french_number
from evaluation.report import SECTIONS, render_report
from evaluation.results import Run


class ReportParser(HTMLParser):
    """Collects what a reader would see: sections, headings, charts, bars, table cells."""

    def __init__(self):
        super().__init__()
        self.sections, self.headings, self.charts, self.bars, self.cells = [], [], 0, [], []
        self.external, self.scripts = [], 0
        self._capture = self._chart = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs.get("id"))
        if tag == "svg" and "chart" in attrs.get("class", ""):
            self.charts += 1
            self._chart = attrs.get("aria-label")
        if tag == "rect" and attrs.get("class") == "bar":
            self.bars.append((self._chart, attrs["data-series"], attrs["data-category"], attrs["data-value"]))
        if tag == "script":
            self.scripts += 1
        if tag == "link" or any(key in ("src", "href") for key in attrs):
            self.external.append((tag, attrs))
        if tag in ("h2", "td", "th"):
            self._capture, self._text = tag, ""

    def handle_data(self, data):
        if self._capture:
            self._text += data

    def handle_endtag(self, tag):
        if tag == self._capture:
            (self.headings if tag == "h2" else self.cells).append(self._text.strip())
            self._capture = None


def row(qid, final_marks, latency, valid=True, error=None):
    if error:
        return {"id": qid, "question": f"Question {qid}", "error": error, "latency_ms": latency}
    accuracy, completeness, form = final_marks
    return {
        "id": qid, "question": f"Question {qid} ?", "answer": f"Réponse à {qid} <b>gras</b>", "latency_ms": latency,
        "route": {"label": "regulatory_analysis"}, "usage": {"input_tokens": 1000, "output_tokens": 200, "model": "m"},
        "judge": {"accuracy": accuracy, "completeness": completeness, "format": form,
                  "final": 0.5 * accuracy + 0.3 * completeness + 0.2 * form,
                  "accuracy_justification": "Juste.", "completeness_justification": "Complet.",
                  "format_justification": "Clair."},
        "checks": {"routing": {"correct": True}, "refusal": {"correct": None},
                   "citations": {"valid": valid, "quotes": 1, "quotes_valid": int(valid), "references": 2,
                                 "references_valid": 2 if valid else 1,
                                 "invalid_references": [] if valid else ["Partie I, chapitre 10"],
                                 "invalid_quotes": [], "cited_references": ["Partie I, chapitre 2, §2.10"]},
                   "coverage": {"share": 0.5}, "format": {"share": 1.0}},
    }


def make_runs(tmp_path: Path):
    a = Run(tmp_path / "a", {"config": "mistral", "dataset": "etude_bpf_20.jsonl", "judge": True,
                             "models": {"judge": {"internal": ["mistral:mistral-large-latest", "embedded:default"]}}},
            [row("q1", (8, 6, 5), 2000), row("q2", (10, 10, 10), 4000, valid=False)],
            experts={"q1": {"accuracy": 7, "completeness": 6, "format": 5, "final": 6.3}})
    b = Run(tmp_path / "b", {"config": "embarqué", "judge": True},
            [row("q1", (4, 4, 4), 30000), row("q2", None, 31000, error="RuntimeError: boom")])
    return a, b


def test_report_has_every_section_charts_and_the_figures(tmp_path):
    a, b = make_runs(tmp_path)
    html = render_report([a, b])
    parser = ReportParser()
    parser.feed(html)
    assert parser.sections == list(SECTIONS)
    assert parser.headings == list(SECTIONS.values())
    assert parser.charts == 3  # criteria, per question, latency
    assert parser.scripts == 0 and parser.external == []  # self-contained
    # final means: A = (6.8 + 10) / 2 = 8.4, B = 4.0; shown the French way
    line = parser.cells.index("Note finale moyenne (sur 10)")
    assert parser.cells[line + 1:line + 3] == ["8,40", "4,00"]
    assert "50 %" in parser.cells[parser.cells.index("Réponses dont toutes les citations sont vérifiées") + 1]
    bars = {(chart, series, category): value for chart, series, category, value in parser.bars}
    criteria, questions = "Note moyenne par critère (sur 10)", "Note finale par question (sur 10)"
    assert float(bars[(criteria, "mistral", "Note finale")]) == pytest.approx(8.4)
    assert float(bars[(criteria, "embarqué", "Exactitude")]) == pytest.approx(4)
    assert float(bars[(questions, "mistral", "q2 – Question q2 ?")]) == pytest.approx(10)
    assert bars[(questions, "embarqué", "q2 – Question q2 ?")] == ""  # the erroring answer: not graded
    latency = "Temps de réponse par question (secondes)"
    assert float(bars[(latency, "embarqué", "q1 – Question q1 ?")]) == pytest.approx(30)
    assert "Partie I, chapitre 10" in html  # the invented reference is named
    assert "<b>gras</b>" not in html  # answers are escaped
    assert "Pearson" in parser.cells and "Écart moyen" in parser.cells
    assert "même jeu de questions" not in html


def test_report_names_the_judge_and_says_when_routing_was_not_measured(tmp_path):
    a, b = make_runs(tmp_path)
    for line in a.rows:
        line["judge_model"] = "mistral:mistral-large-latest"
    b.rows[0].update(judge=None, judge_model="embedded:default", self_judge_refused=True,
                     judge_error="self-judging refused: embedded:default wrote this answer")
    for line in b.rows:
        line.setdefault("checks", {})["routing"] = {"routed": False, "correct": None}
    parser = ReportParser()
    parser.feed(render_report([a, b]))
    judge = parser.cells.index("Juge (modèle qui a noté)")
    assert parser.cells[judge + 1] == "mistral:mistral-large-latest"
    assert parser.cells[judge + 2] == "– ; 1 note(s) refusée(s) : le juge avait écrit la réponse"
    routing = parser.cells.index("Routage vers le bon agent (requêtes passées par relais-auto)")
    assert parser.cells[routing + 1] == "100 % (2 requêtes)"
    assert parser.cells[routing + 2] == "n/a (agent demandé : routage non mesuré)"


def test_report_shows_per_answer_which_gold_paragraphs_were_used(tmp_path):
    a, _ = make_runs(tmp_path)
    a.rows[0]["checks"]["coverage"] = {"share": 0.5, "paragraphs": [
        {"reference": "Partie I, §2.10", "cited": True, "quoted": True, "retrieved": True},
        {"reference": "Partie I, §2.11", "cited": False, "quoted": False, "retrieved": True}]}
    parser = ReportParser()
    parser.feed(render_report([a]))
    assert "Partie I, §2.10 : référence + citationPartie I, §2.11 : absente" in parser.cells


def test_report_warns_when_runs_used_different_questions(tmp_path):
    a, b = make_runs(tmp_path)
    a.manifest["dataset_sha256"], b.manifest["dataset_sha256"] = "1" * 64, "2" * 64
    assert "pas porté sur le même jeu de questions" in render_report([a, b])


def test_report_for_one_run_without_experts_or_judge(tmp_path):
    run = Run(tmp_path, {"config": "seul"}, [{"id": "x", "question": "Traduis", "answer": "Translate",
                                              "latency_ms": 10, "checks": {}}])
    parser = ReportParser()
    parser.feed(render_report([run]))
    assert parser.charts == 3 and "Accord juge / experts" in parser.headings
    with pytest.raises(ValueError):
        render_report([])


def test_bar_chart_scales_bars_and_french_numbers():
    svg = bar_chart("Titre", ["a", "b"], {"A": [10, 5], "B": [None, 2.5]}, max_value=10)
    parser = ReportParser()
    parser.feed(svg)
    assert parser.charts == 1 and len(parser.bars) == 4
    assert french_number(1234.5, 1) == "1\u202f234,5" and french_number(None) == "–"
