"""Routing benchmark: how well the local router labels requests it has never seen.

Two settings on routing_dev.jsonl:
- cross-validation: stratified k folds; train on the exemplars plus the other folds, test on the
  held-out fold;
- exemplars only: train on knowledge/routing/exemplars.jsonl, the dev set is entirely unseen.
Plus a k-fold over the exemplars themselves (a figure that never looks at the dev set).

Prints accuracy, the per-label confusion, the share decided locally (confidence >= threshold),
the accuracy of that share, and p50/p95 of warm `decide()` latency (embedding included).

    HF_HUB_OFFLINE=1 python benchmarks/routing.py [--dev PATH] [--folds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graphs.router.classifier import CONFIDENCE_THRESHOLD, LocalRouter, RouteDecision, load_exemplars  # noqa: E402
from relais.labels import LABELS  # noqa: E402


def default_dev_path() -> Path:
    """routing_dev.jsonl in $RELAIS_SHARED_DIR, else in the nearest ancestor's shared/ folder."""
    if os.environ.get("RELAIS_SHARED_DIR"):
        return Path(os.environ["RELAIS_SHARED_DIR"]) / "datasets" / "routing_dev.jsonl"
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "shared" / "datasets" / "routing_dev.jsonl"
        if candidate.is_file():
            return candidate
    return Path("shared/datasets/routing_dev.jsonl")

THRESHOLDS = (0.3, 0.4, 0.45, 0.5, 0.6, 0.7)


def run_fold(router: LocalRouter, tests: list[dict]) -> list[tuple[dict, RouteDecision, float, float]]:
    results = []
    for example in tests:
        start, cpu_start = time.perf_counter(), time.thread_time()
        decision = router.decide(example["text"])
        wall, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
        results.append((example, decision, wall * 1000, cpu * 1000))
    return results


def cross_validate(train_extra: list[dict], dataset: list[dict], folds: int) -> list:
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    labels = [example["label"] for example in dataset]
    results = []
    for train_index, test_index in splitter.split(dataset, labels):
        router = LocalRouter().fit(train_extra + [dataset[i] for i in train_index])
        router.decide("warm-up")
        results += run_fold(router, [dataset[i] for i in test_index])
    return results


def report(title: str, results: list, show_errors: bool = True) -> None:
    total = len(results)
    correct = sum(decision.label == example["label"] for example, decision, *_ in results)
    local = [(example, decision) for example, decision, *_ in results if decision.confidence >= CONFIDENCE_THRESHOLD]
    local_correct = sum(decision.label == example["label"] for example, decision in local)
    latencies = sorted(ms for _, _, ms, _ in results)
    cpu_times = sorted(ms for *_, ms in results)
    print(f"\n## {title} ({total} requests)")
    print(f"accuracy {correct / total:.1%} | decided locally (>= {CONFIDENCE_THRESHOLD}) {len(local) / total:.1%}"
          f" | accuracy of the local share {local_correct / max(len(local), 1):.1%}")
    p95 = int(0.95 * (total - 1))
    print(f"latency (wall) p50 {statistics.median(latencies):.1f} ms | p95 {latencies[p95]:.1f} ms;"
          f" CPU time p50 {statistics.median(cpu_times):.1f} ms | p95 {cpu_times[p95]:.1f} ms"
          f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    for threshold in THRESHOLDS:
        kept = [(e, d) for e, d, *_ in results if d.confidence >= threshold]
        right = sum(d.label == e["label"] for e, d in kept)
        share, accuracy = len(kept) / total, right / max(len(kept), 1)
        print(f"  threshold {threshold:.2f}: local {share:6.1%}, local accuracy {accuracy:6.1%}")
    confusion = Counter((example["label"], decision.label) for example, decision, *_ in results)
    print("confusion (true -> predicted: count), per label recall:")
    for label in LABELS:
        row = {pred: n for (true, pred), n in confusion.items() if true == label}
        recall = row.get(label, 0) / max(sum(row.values()), 1)
        errors = ", ".join(f"{pred} {n}" for pred, n in sorted(row.items()) if pred != label)
        print(f"  {label:20s} recall {recall:6.1%}  {('errors: ' + errors) if errors else ''}")
    if show_errors:
        for example, decision, *_ in results:
            if decision.label != example["label"]:
                text = example["text"][:100]
                print(f"  ✗ {example['label']} -> {decision.label} ({decision.confidence:.2f}): {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=None)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    dev_path = args.dev or default_dev_path()
    dev = [json.loads(line) for line in dev_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    exemplars = load_exemplars()
    print(f"{len(exemplars)} exemplars, {len(dev)} dev requests, {args.folds} folds")

    report("exemplars only, k-fold over the exemplars (dev set not used)",
           cross_validate([], exemplars, args.folds), show_errors=False)
    router = LocalRouter().fit(exemplars)
    router.decide("warm-up")
    report("exemplars only, dev set unseen", run_fold(router, dev))
    report(f"cross-validation: exemplars + {args.folds - 1} dev folds, tested on the held-out fold",
           cross_validate(exemplars, dev, args.folds))


if __name__ == "__main__":
    main()
