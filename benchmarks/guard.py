"""Measure the confidentiality guard on its labelled sets of planted values.

For each half of the planted set (`evaluation/datasets/guard_planted_{tuning,test}.jsonl`), prints
per category how many planted values were caught (a value is caught when findings cover every
letter and digit of every occurrence of it, so that redaction leaves nothing of it; a marking is
caught when a marking finding covers it), the clean requests flagged (anything found), the findings
on sensitive requests that cover no planted value (redacted beyond what is needed), and the time
of `inspect()` on ~2,000-character requests (p50/p95, engine already loaded, cache cleared; the
load time and the load average are printed too).

Tune on the tuning half only: `--split tuning` (the default) never reads the test half, and misses
are listed only with `--details`.

With --bpf FOLDER (the GMP guide, e.g. /work/shared/knowledge/bpf-2019), it also inspects the whole
guide cut in 1,400-character chunks, as retrieved context would be: chunks flagged (all are
false positives: the guide holds no personal data) and time per chunk. With --questions it inspects
the users' questions of the other evaluation sets (routing, GMP questions, agents' requests): none
holds personal data, so every flagged question is a false positive.

    python benchmarks/guard.py [--split tuning|test|test2|blind3|blind5..15|both|all] [--details] [--repeat 3]
                               [--bpf DIR] [--questions]
    python benchmarks/guard.py --dataset evaluation/datasets/guard_labelled.jsonl   # the older set
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from relais.guard.tagger import occurrences  # a value's places in a text, as the tagger labels them

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "evaluation" / "datasets"
HALVES = {"tuning": DATASETS / "guard_planted_tuning.jsonl", "test": DATASETS / "guard_planted_test.jsonl",
          "test2": DATASETS / "guard_planted_test2.jsonl",
          "blind3": DATASETS / "guard_planted_blind3.jsonl"}
# Sets written blind to measure generalisation once: never in "all", never used to tune.
BLIND = {f"blind{n}": DATASETS / f"guard_planted_blind{n}.jsonl" for n in range(5, 31)}  # blind5 … blind30
# Questions users ask, with the field that holds them: no personal data in any of them.
QUESTION_SETS = {"routing_dev2.jsonl": "text", "bpf_dev2.jsonl": "question", "agents_requests.jsonl": "question",
                 "etude_bpf_20.jsonl": "question"}
MARKING = "CONFIDENTIEL"
REQUEST_SIZE = 2000


def load_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` percentile (whole percents, 0.01-0.99), interpolated like numpy's default."""
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def is_caught(text: str, value: str, category: str, findings, *, figures_only: bool = False) -> bool:
    """Whether findings cover every letter and digit of every occurrence of the value.

    With `figures_only`, every digit of a value that has digits (a pay figure masked, « salaire annuel brut » left
    in clear): the second, looser reading the report gives beside the strict one.
    """
    keep = str.isdigit if figures_only and any(char.isdigit() for char in value) else str.isalnum
    if category == MARKING:
        covering = [(f.start, f.end) for f in findings if f.entity_type == MARKING]
    else:
        covering = [(f.start, f.end) for f in findings if f.entity_type != MARKING]
    spans = occurrences(text, value)
    if not spans:
        raise ValueError(f"planted value {value!r} is not in its text: fix the dataset")
    return all(
        any(start <= index < end for start, end in covering)
        for value_start, value_end in spans
        for index in range(value_start, value_end)
        if keep(text[index])
    )


def is_touched(text: str, value: str, findings) -> bool:
    """Whether some finding overlaps an occurrence of the value (it is masked in part)."""
    return any(f.start < end and start < f.end for start, end in occurrences(text, value) for f in findings)


def evaluate_planted(rows: list[dict]) -> dict:
    """Per-category recall on planted values, clean requests flagged, findings beyond the planted ones."""
    from relais.guard import inspect

    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    touched: Counter[str] = Counter()
    figures: Counter[str] = Counter()
    misses, flagged_clean, extra = [], [], Counter()
    sensitive_flagged = 0  # texts with planted values in which the guard found anything at all
    kept_local = 0  # planted values in those texts: under guard='local' none of them leaves
    marked_local = 0  # CONFIDENTIEL values in a text with a marking found anywhere in it: none of them leaves
    for row in rows:
        text, planted = row["text"], row["planted"]
        findings = inspect([text]).findings
        if not planted:
            if findings:
                flagged_clean.append((row["id"], [(f.entity_type, text[f.start:f.end]) for f in findings], text))
            continue
        sensitive_flagged += bool(findings)
        kept_local += len(planted) if findings else 0
        marked = any(f.entity_type == MARKING for f in findings)
        for item in planted:
            total[item["category"]] += 1
            if item["category"] == MARKING:  # under every policy a marked request stays whole on local models
                marked_local += marked
            figures[item["category"]] += is_caught(text, item["value"], item["category"], findings, figures_only=True)
            if is_caught(text, item["value"], item["category"], findings):
                caught[item["category"]] += 1
            else:
                misses.append((row["id"], item["category"], item["value"], text))
                touched[item["category"]] += is_touched(text, item["value"], findings)
        planted_spans = [span for item in planted for span in occurrences(text, item["value"])]
        for finding in findings:
            if not any(finding.start < end and start < finding.end for start, end in planted_spans):
                extra[finding.entity_type] += 1
    clean = sum(1 for row in rows if not row["planted"])
    return {"caught": caught, "total": total, "misses": misses, "flagged_clean": flagged_clean,
            "clean": clean, "extra": extra, "sensitive_flagged": sensitive_flagged,
            "sensitive": sum(1 for row in rows if row["planted"]), "touched": touched, "kept_local": kept_local,
            "figures": figures, "marked_local": marked_local}


def print_planted(name: str, result: dict, details: bool) -> None:
    caught, total = result["caught"], result["total"]
    print(f"\n== {name} half: {sum(total.values())} planted values, {result['clean']} clean requests")
    for category in sorted(total, key=lambda c: -total[c]):
        print(f"  {category:<15} {caught[category]:>3}/{total[category]:<3} {caught[category] / total[category]:6.1%}")
    all_caught, all_total = sum(caught.values()), sum(total.values())
    print(f"  {'ALL':<15} {all_caught:>3}/{all_total:<3} {all_caught / all_total:6.1%}")
    # Misses that are partly masked: the phrase's boundary differs (« en arrêt pour » left of « une sciatique »).
    print(f"  of the misses, partly covered: {dict(result['touched']) or 0}")
    # The looser reading: every figure of the value masked, its words maybe not (« salaire annuel brut <SALAIRE> »).
    looser = {category: f"{result['figures'][category]}/{total[category]}" for category in total
              if result["figures"][category] != caught[category]}
    print(f"  every figure masked, where it differs from the above: {looser or 'nowhere'}")
    if total[MARKING]:  # a marking anywhere keeps the whole request local, even under the "redact" policy
        print(f"  {MARKING} values in a text the guard found marked or confidential (kept whole on local models "
              f"under every policy): {result['marked_local']}/{total[MARKING]}")
    flagged = len(result["flagged_clean"])
    print(f"  clean requests flagged: {flagged}/{result['clean']} ({flagged / result['clean']:.1%})")
    print(f"  findings on sensitive requests covering no planted value: {dict(result['extra']) or 0}")
    # What a "local" or "refuse" policy needs: any finding keeps the whole request away from remote models.
    print(f"  sensitive requests with any finding (kept local under guard='local'): "
          f"{result['sensitive_flagged']}/{result['sensitive']}; planted values they hold (none leaves under "
          f"RELAIS_GUARD_POLICY=local): {result['kept_local']}/{all_total} ({result['kept_local'] / all_total:.1%})")
    if details:
        for row_id, category, value, _ in result["misses"]:
            print(f"  MISS {row_id} {category}: {value!r}")
        for row_id, spans, text in result["flagged_clean"]:
            print(f"  FLAGGED CLEAN {row_id} {spans}: {text[:80]!r}")


def evaluate_legacy(rows: list[dict]) -> None:
    """The older set (guard_labelled.jsonl): a request is caught when every expected type is found."""
    from relais.guard import inspect

    sensitive = [row for row in rows if row["sensitive"]]
    clean = [row for row in rows if not row["sensitive"]]
    caught = sum(set(row["entities"]) <= set(inspect([row["text"]]).counts()) for row in sensitive)
    flagged = [row for row in clean if not inspect([row["text"]]).is_clean]
    print(f"{len(rows)} requests: recall (all expected types found) {caught}/{len(sensitive)}, "
          f"clean flagged {len(flagged)}/{len(clean)}")
    for row in flagged:
        print(f"  FALSE POSITIVE {row['id']}: {row['text'][:90]}")


def requests_of_size(rows: list[dict], size: int = REQUEST_SIZE) -> list[str]:
    """The rows' texts joined and cut into requests of `size` characters (a long pasted request)."""
    joined = "\n\n".join(row["text"] for row in rows)
    while len(joined) < size * 20:
        joined += "\n\n" + joined
    return [joined[i : i + size] for i in range(0, len(joined) - size + 1, size)]


def time_inspect(texts: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU time of each inspection; on a shared machine the CPU time is what a quiet core would take."""
    from relais.guard import engine

    wall, cpu = [], []
    for _ in range(repeat):
        for text in texts:
            engine.clear_caches()  # measure the analysis, not the cache
            start, start_cpu = time.perf_counter(), time.process_time()
            engine.inspect([text])
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    return wall, cpu


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
    flagged, timings, chunks_flagged = Counter(), [], 0
    examples = defaultdict(list)
    for chunk in chunks:
        start = time.perf_counter()
        report = engine.inspect([chunk])
        timings.append(time.perf_counter() - start)
        chunks_flagged += not report.is_clean
        for finding in report.findings:
            flagged[finding.entity_type] += 1
            examples[finding.entity_type].append(chunk[finding.start : finding.end])
    print(f"\nGMP guide: {len(chunks)} chunks of 1,400 characters, {chunks_flagged} flagged "
          f"({chunks_flagged / len(chunks):.1%}); findings by type: {dict(flagged)}")
    for kind, values in examples.items():
        print(f"  {kind}: {values[:8]}")
    print(f"inspect() per 1,400-character chunk: p50 {percentile(timings, 0.5) * 1000:.0f} ms, "
          f"p95 {percentile(timings, 0.95) * 1000:.0f} ms")


def inspect_questions(details: bool) -> None:
    """The users' questions of the other evaluation sets: each one flagged is a false positive."""
    from relais.guard import inspect

    for name, field_name in QUESTION_SETS.items():
        questions = [row[field_name] for row in load_rows(DATASETS / name)]
        flagged = [(text, inspect([text]).findings) for text in questions]
        flagged = [(text, findings) for text, findings in flagged if findings]
        print(f"questions of {name}: {len(flagged)}/{len(questions)} flagged ({len(flagged) / len(questions):.1%})")
        if details:
            for text, findings in flagged:
                print(f"  FLAGGED {[(f.entity_type, text[f.start:f.end]) for f in findings]}: {text[:90]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=[*HALVES, *BLIND, "both", "all"], default="tuning",
                        help="both = tuning and test; all = every set but the blind ones")
    parser.add_argument("--dataset", type=Path, help="one other file instead of the halves (planted or older format)")
    parser.add_argument("--details", action="store_true", help="list every miss and flagged clean request")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bpf", type=Path, help="folder of the GMP guide, to measure false positives on it")
    parser.add_argument("--questions", action="store_true",
                        help="false positives on the users' questions of the other sets")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # this checkout's relais, not an installed one

    from relais.guard import engine

    start = time.perf_counter()
    engine.get_analyzer()
    print(f"engine load (spaCy {engine.SPACY_MODEL} + recognisers): {time.perf_counter() - start:.1f} s")
    if args.dataset:
        files = {args.dataset.stem: args.dataset}
    else:
        names = {"both": ["tuning", "test"], "all": list(HALVES)}.get(args.split, [args.split])
        files = {name: {**HALVES, **BLIND}[name] for name in names}
    timed_rows = []
    for name, path in files.items():
        rows = load_rows(path)
        timed_rows += rows
        if is_tagger_training_data(rows):
            print(f"\nNOTE: {name} is training data of the guard's sequence tagger (relais/guard/tagger.py "
                  f"TRAINING_SETS): its figures are a fit, not a hold-out's (benchmarks/guard_sets.py holds it out)")
        if "planted" in rows[0]:
            print_planted(name, evaluate_planted(rows), args.details)
        else:
            evaluate_legacy(rows)
    if args.repeat > 0:
        time_requests(timed_rows, args.repeat)
    if args.questions:
        inspect_questions(args.details)
    if args.bpf:
        inspect_guide(args.bpf)


def is_tagger_training_data(rows: list[dict]) -> bool:
    """Whether any of these rows is a training row of the shipped tagger (by text, whatever the file's name)."""
    from relais.guard.tagger import TRAINING_SETS
    from relais.guard.tagger import load_rows as training_rows

    seen = {row["text"] for row in training_rows(TRAINING_SETS)}
    return any(row["text"] in seen for row in rows)


def time_requests(rows: list[dict], repeat: int) -> None:
    """Print inspect()'s wall-clock and CPU time on ~2,000-character requests made of the rows."""
    load_before = os.getloadavg()[0]
    wall, cpu = time_inspect(requests_of_size(rows), repeat)
    print(f"\ninspect() per {REQUEST_SIZE:,}-character request, {len(wall)} runs, load average "
          f"{load_before:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores:")
    for name, timings in (("wall clock", wall), ("CPU time", cpu)):
        p50, p95 = percentile(timings, 0.5) * 1000, percentile(timings, 0.95) * 1000
        print(f"  {name:<10} p50 {p50:.1f} ms, p95 {p95:.1f} ms, mean {statistics.mean(timings) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
