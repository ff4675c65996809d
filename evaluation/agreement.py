"""How far the judge model agrees with the experts, and the experts with each other, criterion by criterion."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations

from evaluation.grid import CRITERIA
from evaluation.results import Run

MIN_CORRELATION_PAIRS = 3


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r; None with fewer than three pairs or when one side does not vary."""
    if len(xs) < MIN_CORRELATION_PAIRS or len(xs) != len(ys):
        return None
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    spread = math.sqrt(sum((x - mean_x) ** 2 for x in xs) * sum((y - mean_y) ** 2 for y in ys))
    return covariance / spread if spread else None


def _ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties sharing their average rank (as Spearman's rho needs)."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rho (Pearson on ranks); None under the same conditions as `pearson`."""
    if len(xs) < MIN_CORRELATION_PAIRS:
        return None
    return pearson(_ranks(xs), _ranks(ys))


def compare_marks(judge: Sequence[float], experts: Sequence[float]) -> dict:
    """Mean absolute difference, correlations and the share of marks within one point."""
    pairs = len(judge)
    differences = [abs(a - b) for a, b in zip(judge, experts, strict=True)]
    return {
        "pairs": pairs,
        "mean_abs_diff": sum(differences) / pairs if pairs else None,
        "within_1": sum(diff <= 1 for diff in differences) / pairs if pairs else None,
        "pearson": pearson(judge, experts),
        "spearman": spearman(judge, experts),
    }


def agreement(run: Run) -> dict[str, dict]:
    """Judge versus experts for each criterion and the final mark, over questions both graded.

    With several experts, the judge is compared with their mean mark on each question (`Run.experts`).
    """
    both = [(row["judge"], run.experts[str(row["id"])]) for row in run.rows
            if row.get("judge") and str(row["id"]) in run.experts]
    return {name: compare_marks([j[name] for j, _ in both], [e[name] for _, e in both])
            for name in (*CRITERIA, "final")}


def between_experts(run: Run) -> list[dict]:
    """Each pair of experts compared on the questions both graded: [{"experts": (a, b), "criteria": {...}}].

    Each expert's latest import counts; the figures per criterion are those of `compare_marks`.
    """
    pairs = []
    for first, second in combinations(sorted(run.expert_grades), 2):
        a, b = run.expert_grades[first], run.expert_grades[second]
        shared = [question_id for question_id in a if question_id in b]
        pairs.append({"experts": (first, second),
                      "criteria": {name: compare_marks([a[i][name] for i in shared], [b[i][name] for i in shared])
                                   for name in (*CRITERIA, "final")}})
    return pairs
