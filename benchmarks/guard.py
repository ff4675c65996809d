"""Measure the confidentiality guard on its labelled set.

Prints recall on the sensitive requests (a request counts as caught when every expected type is
found), entity recall, the false-positive rate on clean requests (anything found), the misses and
false positives themselves, and the time of `inspect()` per request (p50/p95, engine already
loaded; the load time is printed apart).

    python benchmarks/guard.py [--dataset evaluation/datasets/guard_labelled.jsonl] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "evaluation" / "datasets" / "guard_labelled.jsonl"


def load_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def evaluate(rows: list[dict]) -> dict:
    from relais.guard import inspect

    caught, expected_total, expected_found, false_positives, misses = 0, 0, 0, [], []
    for row in rows:
        report = inspect([row["text"]])
        found = set(report.counts())
        if row["sensitive"]:
            expected = set(row["entities"])
            expected_total += len(expected)
            expected_found += len(expected & found)
            if expected <= found:
                caught += 1
            else:
                misses.append((row["id"], sorted(expected - found), row["text"]))
        elif found:
            spans = [(f.entity_type, row["text"][f.start:f.end]) for f in report.findings]
            false_positives.append((row["id"], spans, row["text"]))
    sensitive = sum(row["sensitive"] for row in rows)
    return {
        "sensitive": sensitive,
        "clean": len(rows) - sensitive,
        "request_recall": caught / sensitive,
        "entity_recall": expected_found / expected_total,
        "false_positive_rate": len(false_positives) / (len(rows) - sensitive),
        "misses": misses,
        "false_positives": false_positives,
    }


def time_inspect(rows: list[dict], repeat: int) -> list[float]:
    from relais.guard import engine

    timings = []
    for _ in range(repeat):
        engine._inspect_one.cache_clear()  # measure the analysis, not the cache
        for row in rows:
            start = time.perf_counter()
            engine.inspect([row["text"]])
            timings.append(time.perf_counter() - start)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # this checkout's relais, not an installed one
    rows = load_rows(args.dataset)

    from relais.guard import engine

    start = time.perf_counter()
    engine.get_analyzer()
    print(f"engine load (spaCy {engine.SPACY_MODEL} + recognisers): {time.perf_counter() - start:.1f} s")
    result = evaluate(rows)
    print(f"{len(rows)} requests: {result['sensitive']} sensitive, {result['clean']} clean")
    print(f"recall (request, all expected types found): {result['request_recall']:.1%}")
    print(f"recall (entity types): {result['entity_recall']:.1%}")
    print(f"false-positive rate on clean requests: {result['false_positive_rate']:.1%}")
    for row_id, missing, text in result["misses"]:
        print(f"  MISS {row_id} {missing}: {text[:90]}")
    for row_id, spans, text in result["false_positives"]:
        print(f"  FALSE POSITIVE {row_id} {spans}: {text[:90]}")
    timings = time_inspect(rows, args.repeat)
    print(f"inspect() per request, {len(timings)} runs: p50 {percentile(timings, 0.5) * 1000:.1f} ms, "
          f"p95 {percentile(timings, 0.95) * 1000:.1f} ms, mean {statistics.mean(timings) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
