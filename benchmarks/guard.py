"""Measure the confidentiality guard on its labelled set.

Prints recall on the sensitive requests (a request counts as caught when every expected type is
found), entity recall, the false-positive rate on clean requests (anything found), the misses and
false positives themselves, and the time of `inspect()` per request (p50/p95, engine already
loaded; the load time is printed apart).

With --bpf FOLDER (the GMP guide, e.g. /work/shared/knowledge/bpf-2019), it also inspects the whole
guide cut in 1,400-character chunks, as retrieved context would be: chunks flagged (all are
false positives: the guide holds no personal data) and time per chunk.

    python benchmarks/guard.py [--dataset evaluation/datasets/guard_labelled.jsonl] [--repeat 5] [--bpf DIR]
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


def guide_chunks(folder: Path, size: int = 1400) -> list[str]:
    raw = (folder / "guide-bpf-2019.txt").read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")  # the published export is Windows-1252
    return [text[i : i + size] for i in range(0, len(text), size)]


def inspect_guide(folder: Path) -> None:
    from relais.guard import engine

    chunks = guide_chunks(folder)
    flagged, timings = [], []
    for chunk in chunks:
        start = time.perf_counter()
        report = engine.inspect([chunk])
        timings.append(time.perf_counter() - start)
        flagged.extend((f.entity_type, chunk[f.start : f.end]) for f in report.findings)
    chunks_flagged = sum(1 for chunk in chunks if not engine.inspect([chunk]).is_clean)
    print(f"GMP guide: {len(chunks)} chunks of 1,400 characters, {chunks_flagged} flagged "
          f"({chunks_flagged / len(chunks):.1%}); findings: {flagged[:10]}")
    print(f"inspect() per 1,400-character chunk: p50 {percentile(timings, 0.5) * 1000:.0f} ms, "
          f"p95 {percentile(timings, 0.95) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--bpf", type=Path, help="folder of the GMP guide, to measure false positives on it")
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
    if args.bpf:
        inspect_guide(args.bpf)


if __name__ == "__main__":
    main()
