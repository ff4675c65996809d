"""Results folders: reading them back and summarising a run into the figures the report shows."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.grid import CRITERIA

MANIFEST_FILE = "manifest.json"
RESULTS_FILE = "results.jsonl"
EXPERTS_FILE = "experts.jsonl"  # the experts' grades, imported from the spreadsheet, one line per expert and question
UNNAMED_EXPERT = "(expert sans nom)"  # grades imported before each import named its expert


class ResultsError(ValueError):
    """A results folder that cannot be read; the message names the folder or file."""


@dataclass
class Run:
    """One results folder in memory."""

    folder: Path
    manifest: dict
    rows: list[dict]
    # question id -> the experts' grades: the mean over the experts who graded it (see `consensus`)
    experts: dict[str, dict] = field(default_factory=dict)
    # expert name -> question id -> that expert's latest grades
    expert_grades: dict[str, dict[str, dict]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The configuration name shown in reports."""
        return str(self.manifest.get("config") or self.folder.name)


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ResultsError(f"{path}:{number}: not valid JSON ({error.msg})") from None
    return rows


def load_run(folder: Path) -> Run:
    """Read a results folder written by `relais eval run`.

    Raises:
        ResultsError: the folder, its manifest or its results file is missing or unreadable.
    """
    folder = Path(folder)
    manifest_path, results_path = folder / MANIFEST_FILE, folder / RESULTS_FILE
    if not manifest_path.is_file() or not results_path.is_file():
        raise ResultsError(f"{folder} is not a results folder (expected {MANIFEST_FILE} and {RESULTS_FILE})")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ResultsError(f"{manifest_path}: not valid JSON ({error.msg})") from None
    by_expert = grades_by_expert(read_expert_lines(folder))
    return Run(folder, manifest, _read_jsonl(results_path), consensus(by_expert), by_expert)


def read_expert_lines(folder: Path) -> list[dict]:
    """Every line of the folder's experts file, in the order written (empty before any import).

    Raises:
        ResultsError: a line is not valid JSON.
    """
    path = Path(folder) / EXPERTS_FILE
    return _read_jsonl(path) if path.is_file() else []


def expert_key(name: str) -> str:
    """The identity of an expert's name: « Marie  Curie » and « marie curie » are the same person."""
    return " ".join(name.split()).casefold()


def grades_by_expert(lines: Iterable[dict]) -> dict[str, dict[str, dict]]:
    """Expert name -> question id -> grades; a later line for the same expert and question wins.

    Lines written before imports were named belong to `UNNAMED_EXPERT`. The name shown is the one of
    the expert's latest line.
    """
    names: dict[str, str] = {}
    grades: dict[str, dict[str, dict]] = {}
    for line in lines:
        name = " ".join(str(line.get("expert") or UNNAMED_EXPERT).split())
        names[expert_key(name)] = name
        grades.setdefault(expert_key(name), {})[str(line["id"])] = line
    return {names[key]: by_question for key, by_question in grades.items()}


def consensus(by_expert: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """Per question, each criterion's mean over the experts who graded it, with their count and comments."""
    merged: dict[str, list[tuple[str, dict]]] = {}
    for expert, by_question in by_expert.items():
        for question_id, grades in by_question.items():
            merged.setdefault(question_id, []).append((expert, grades))
    return {question_id: {"id": question_id,
                          **{name: mean(grades.get(name) for _, grades in graded) for name in (*CRITERIA, "final")},
                          "experts": len(graded),
                          "comment": " | ".join(f"{expert} : {grades['comment']}" for expert, grades in graded
                                                if grades.get("comment"))}
            for question_id, graded in merged.items()}


def percentile(values: Sequence[float], share: float) -> float | None:
    """The `share` percentile (0–1) by linear interpolation; None without values."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * share
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Iterable[float | None]) -> float | None:
    """The mean of the values that are not None; None when there are none."""
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


def _share(flags: Iterable[bool | None]) -> tuple[float | None, int]:
    present = [flag for flag in flags if flag is not None]
    return (sum(present) / len(present) if present else None), len(present)


def _check(row: dict, name: str) -> dict | None:
    return (row.get("checks") or {}).get(name)


def _citation_summary(rows: list[dict]) -> dict:
    checked = [c for c in (_check(row, "citations") for row in rows) if c]
    valid_share, count = _share(c["valid"] for c in checked)
    return {"answers": count, "answers_valid": valid_share,
            "quotes": sum(c["quotes"] for c in checked), "quotes_valid": sum(c["quotes_valid"] for c in checked),
            "references": sum(c["references"] for c in checked),
            "references_valid": sum(c["references_valid"] for c in checked)}


def _usage_summary(rows: list[dict]) -> dict:
    usages = [row.get("usage") or {} for row in rows if not row.get("error")]
    inputs = [u.get("input_tokens") or 0 for u in usages]
    outputs = [u.get("output_tokens") or 0 for u in usages]
    models = sorted({str(u["model"]) for u in usages if u.get("model")})
    return {"input_tokens": sum(inputs), "output_tokens": sum(outputs),
            "output_tokens_mean": mean(outputs), "models": models}


def judged_rows(rows: Iterable[dict]) -> list[dict]:
    """The rows a judge graded and whose judge model is known."""
    return [row for row in rows if row.get("judge") and row.get("judge_model")]


def summarise(rows: list[dict]) -> dict:
    """The figures of one run: grid means, checks, routing, latency and tokens."""
    answered = [row for row in rows if not row.get("error")]
    judged = [row["judge"] for row in answered if row.get("judge")]
    latencies = [row["latency_ms"] for row in answered if row.get("latency_ms") is not None]
    refusal, refusal_n = _share((_check(row, "refusal") or {}).get("correct") for row in answered)
    routing, routing_n = _share((_check(row, "routing") or {}).get("correct") for row in answered)
    # Routing is measured only where the supervisor's router chose: an agent asked for is not a routing.
    requested = sum(1 for row in answered if (_check(row, "routing") or {}).get("routed") is False)
    return {
        "questions": len(rows),
        "errors": len(rows) - len(answered),
        "judged": len(judged),
        "grid": {name: mean(scores.get(name) for scores in judged) for name in (*CRITERIA, "final")},
        "citations": _citation_summary(answered),
        "coverage": mean((_check(row, "coverage") or {}).get("share") for row in answered),
        "coverage_retrieved": mean((_check(row, "coverage") or {}).get("retrieved_share") for row in answered),
        "format": mean((_check(row, "format") or {}).get("share") for row in answered),
        "refusal": {"accuracy": refusal, "questions": refusal_n},
        "routing": {"accuracy": routing, "questions": routing_n, "agent_requested": requested,
                    "note": "n/a (agent requested)" if routing is None and requested else None},
        "judges": sorted({str(row["judge_model"]) for row in judged_rows(answered)}),
        "self_judge_refused": sum(1 for row in answered if row.get("self_judge_refused")),
        "latency_ms": {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95),
                       "mean": mean(latencies)},
        "usage": _usage_summary(answered),
    }
