import pytest
from pydantic import ValidationError

from evaluation.agreement import agreement, compare_marks, pearson, spearman
from evaluation.grid import WEIGHTS, JudgeScores, final_score
from evaluation.results import Run, percentile, summarise


def test_weights_are_the_study_grid():
    assert WEIGHTS == {"accuracy": 0.5, "completeness": 0.3, "format": 0.2}


@pytest.mark.parametrize(
    ("marks", "expected"),
    [((10, 10, 10), 10.0), ((0, 0, 0), 0.0), ((10, 0, 0), 5.0), ((0, 10, 0), 3.0), ((0, 0, 10), 2.0),
     ((8, 6, 5), 6.8), ((9.0, 8.45, 9.05), 8.845)],
)
def test_final_score_weights_each_criterion(marks, expected):
    assert final_score(*marks) == pytest.approx(expected)


def test_final_score_reproduces_the_study_average():
    # The study: 9.0 accuracy, 8.45 completeness, 9.05 format -> "a weighted 8.85".
    assert round(final_score(9.0, 8.45, 9.05), 2) == pytest.approx(8.85, abs=0.006)


@pytest.mark.parametrize("marks", [(11, 5, 5), (5, -1, 5), (5, 5, 10.5)])
def test_final_score_rejects_marks_off_the_scale(marks):
    with pytest.raises(ValueError, match="between 0 and 10"):
        final_score(*marks)


def test_judge_scores_validate_the_scale_and_compute_the_final_mark():
    scores = JudgeScores(accuracy=8, accuracy_justification="a", completeness=6, completeness_justification="b",
                         format=5, format_justification="c")
    assert scores.final == pytest.approx(6.8)
    with pytest.raises(ValidationError):
        JudgeScores(accuracy=12, accuracy_justification="a", completeness=6, completeness_justification="b",
                    format=5, format_justification="c")


def test_correlations_on_known_series():
    assert pearson([1, 2, 3, 4], [2, 4, 6, 8]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3, 4], [1, 4, 9, 16]) == pytest.approx(1.0)
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9486833, rel=1e-6)
    assert pearson([1, 2], [1, 2]) is None  # fewer than three pairs
    assert pearson([5, 5, 5], [1, 2, 3]) is None  # no variation


def test_compare_marks_reports_distance_and_share_within_one_point():
    figures = compare_marks([8, 6, 9, 4], [7, 6, 6, 4.5])
    assert figures["pairs"] == 4
    assert figures["mean_abs_diff"] == pytest.approx((1 + 0 + 3 + 0.5) / 4)
    assert figures["within_1"] == pytest.approx(0.75)


def test_agreement_pairs_judge_and_experts_by_question(tmp_path):
    rows = [{"id": str(i), "judge": {"accuracy": a, "completeness": a, "format": a, "final": a}}
            for i, a in enumerate([8, 6, 9])]
    experts = {"0": {"accuracy": 8, "completeness": 8, "format": 8, "final": 8},
               "2": {"accuracy": 7, "completeness": 7, "format": 7, "final": 7}}
    result = agreement(Run(tmp_path, {}, rows, experts))
    assert result["final"]["pairs"] == 2
    assert result["accuracy"]["mean_abs_diff"] == pytest.approx(1.0)
    assert result["final"]["pearson"] is None


def test_percentile_and_summary_figures():
    assert percentile([10, 20, 30, 40], 0.5) == pytest.approx(25)
    assert percentile([], 0.5) is None
    rows = [
        {"id": "a", "latency_ms": 1000, "judge": {"accuracy": 8, "completeness": 6, "format": 5, "final": 6.8},
         "usage": {"input_tokens": 100, "output_tokens": 50, "model": "m"},
         "checks": {"routing": {"correct": True}, "refusal": {"correct": None},
                    "citations": {"valid": True, "quotes": 2, "quotes_valid": 2, "references": 3,
                                  "references_valid": 3}}},
        {"id": "b", "latency_ms": 3000, "judge": {"accuracy": 4, "completeness": 4, "format": 4, "final": 4.0},
         "usage": {"input_tokens": 10, "output_tokens": 30, "model": "m"},
         "checks": {"routing": {"correct": False}, "refusal": {"correct": True},
                    "citations": {"valid": False, "quotes": 1, "quotes_valid": 0, "references": 1,
                                  "references_valid": 1}}},
        {"id": "c", "error": "RuntimeError: boom", "latency_ms": 5},
    ]
    summary = summarise(rows)
    assert summary["questions"] == 3 and summary["errors"] == 1
    assert summary["grid"]["final"] == pytest.approx(5.4)
    assert summary["grid"]["accuracy"] == pytest.approx(6)
    assert summary["routing"] == {"accuracy": 0.5, "questions": 2, "agent_requested": 0, "note": None}
    assert summary["refusal"] == {"accuracy": 1.0, "questions": 1}
    assert summary["citations"]["answers_valid"] == pytest.approx(0.5)
    assert (summary["citations"]["quotes"], summary["citations"]["quotes_valid"]) == (3, 2)
    assert summary["latency_ms"]["p50"] == pytest.approx(2000)
    assert summary["usage"]["output_tokens"] == 80
