"""Routing benchmark: how well the local router labels requests it was not tuned on (issue 13).

The requests of routing_dev.jsonl (shared, 80) and routing_dev2.jsonl (100, half hard) are split into
5 folds stratified by label and difficulty (`benchmarks/folds.py`'s splitter, seed 13). Fold 0 is the
untouched hold-out: its errors are never printed, and its accuracy only with `--holdout` (run once, at
the end). Folds 1-4 are the tuning folds: their errors may be read to write new exemplars (never
copied from them: the dev requests are never training data of the shipped router).

The shipped router trains on the exemplars and the former hold-outs (`TRAINING_SETS` in
graphs/router/classifier.py). A file whose requests are training data is never scored as a hold-out:
`--blind` and `--dev` refuse it, `--tuning` labels its figure as a fit to training data. The honest
estimate for those sets is the leave-one-set-out of `benchmarks/routing_sets.py`.

Figures printed:
- training data k-fold: the exemplars and former hold-outs cross-validated among themselves (5 random
  folds, no dev request used; the sets are split across folds, so leave-one-set-out is the fairer figure);
- the shipped router on each tuning fold, and their mean;
- nested cross-validation of the classifier's settings (signal weight, regularisation): for each tuning
  fold, the setting best on the other three, measured on that fold;
- by difficulty, the confused label pairs, the share decided locally, the accuracy per confidence band
  (calibration), and warm `decide()` latency p50/p95 (embedding included) with the load average.

    HF_HUB_OFFLINE=1 python benchmarks/routing.py [--dev PATH ...] [--holdout] [--no-grid]
    HF_HUB_OFFLINE=1 python benchmarks/routing.py --blind PATH   # a hold-out, errors hidden
    HF_HUB_OFFLINE=1 python benchmarks/routing.py --tuning PATH  # a former hold-out, errors printed
                                                                 # (labelled a fit when it is training data)
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.folds import HOLDOUT_FOLD, folds  # noqa: E402
from graphs.router.classifier import (  # noqa: E402
    CONFIDENCE_THRESHOLD,
    REGULARISATION_C,
    SIGNAL_WEIGHT,
    LocalRouter,
    RouteDecision,
    load_training_data,
)
from graphs.router.signals import routing_text  # noqa: E402
from relais.labels import LABELS  # noqa: E402

K = 5
SIGNAL_WEIGHTS = (0.1, 0.15, 0.25)
REGULARISATIONS = (10.0, 30.0, 100.0)
Result = tuple[dict, RouteDecision]


def default_dev_paths() -> list[Path]:
    """routing_dev.jsonl from the shared folder ($RELAIS_SHARED_DIR or an ancestor's shared/), and routing_dev2."""
    if os.environ.get("RELAIS_SHARED_DIR"):
        shared = Path(os.environ["RELAIS_SHARED_DIR"]) / "datasets" / "routing_dev.jsonl"
    else:
        candidates = (folder / "shared" / "datasets" / "routing_dev.jsonl" for folder in ROOT.parents)
        shared = next((path for path in candidates if path.is_file()), Path("shared/datasets/routing_dev.jsonl"))
    return [shared, ROOT / "evaluation" / "datasets" / "routing_dev2.jsonl"]


def load_requests(paths: list[Path]) -> list[dict]:
    """Every request of the files, each with its fold (`fold`) and its stratum (`type` = label/difficulty)."""
    rows = []
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found (set RELAIS_SHARED_DIR or pass --dev)")
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        row["type"] = f"{row['label']}/{row.get('difficulty', 'easy')}"
    assignment = folds(rows, k=K)
    return [{**row, "fold": assignment[row["id"]]} for row in rows]


def embed_all(router: LocalRouter, texts: list[str]) -> np.ndarray:
    """The routing embeddings of `texts` (disk-cached), computed once for every fit and every fold."""
    return np.asarray([router._embeddings.embed_query(routing_text(text)) for text in texts])  # noqa: SLF001


def decide_all(router: LocalRouter, rows: list[dict], vectors: dict[str, np.ndarray]) -> list[Result]:
    """The router's decision for each row, from its precomputed vector."""
    return [(row, router.decide_vector(vectors[row["id"]], row["text"])) for row in rows]


def accuracy(results: list[Result]) -> float:
    """Share of rows routed to their label."""
    return sum(decision.label == row["label"] for row, decision in results) / max(len(results), 1)


def training_rows(rows: list[dict], training: list[dict]) -> list[dict]:
    """The rows whose request is training data of the shipped router (same text)."""
    texts = {example["text"] for example in training}
    return [row for row in rows if row["text"] in texts]


def refuse_training_data(paths: list[Path], training: list[dict], option: str) -> None:
    """Exit with an error when a file meant to measure the router holds requests it was trained on."""
    for path in paths:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        seen = training_rows(rows, training)
        if seen:
            sys.exit(f"{option} {path}: {len(seen)} of its {len(rows)} requests are training data of the shipped "
                     "router (exemplars or TRAINING_SETS in graphs/router/classifier.py); its figure would be a "
                     "fit, not a hold-out. Use --tuning to see that fit.")


def training_kfold(exemplars: list[dict], vectors: np.ndarray) -> float:
    """Accuracy of the training data cross-validated among itself (stratified by label)."""
    from sklearn.model_selection import StratifiedKFold

    labels = [example["label"] for example in exemplars]
    right = 0
    for train, test in StratifiedKFold(n_splits=K, shuffle=True, random_state=0).split(exemplars, labels):
        router = LocalRouter(embeddings=_NO_EMBEDDINGS).fit([exemplars[i] for i in train], vectors[train])
        right += sum(router.decide_vector(vectors[i], exemplars[i]["text"]).label == labels[i] for i in test)
    return right / len(exemplars)


class _NoEmbeddings:
    """Fits here always receive their vectors: an embedding call would be a bug in this script."""

    def embed_query(self, text: str) -> list[float]:
        raise AssertionError("vectors are precomputed")


_NO_EMBEDDINGS = _NoEmbeddings()


def fitted(exemplars: list[dict], vectors: np.ndarray, weight: float, regularisation: float) -> LocalRouter:
    """A router with these settings trained on these examples (their vectors given)."""
    router = LocalRouter(embeddings=_NO_EMBEDDINGS, signal_weight=weight, regularisation=regularisation)
    return router.fit(exemplars, vectors)


def nested_cv(exemplars: list[dict], ex_vectors: np.ndarray, rows: list[dict], vectors: dict) -> list[tuple]:
    """For each tuning fold: the setting best on the three others, and its accuracy on that fold."""
    tuning = sorted({row["fold"] for row in rows} - {HOLDOUT_FOLD})
    scores = {}
    for weight, regularisation in itertools.product(SIGNAL_WEIGHTS, REGULARISATIONS):
        router = fitted(exemplars, ex_vectors, weight, regularisation)
        scores[(weight, regularisation)] = {
            fold: accuracy(decide_all(router, [r for r in rows if r["fold"] == fold], vectors)) for fold in tuning}
    outcome = []
    for fold in tuning:
        others = [f for f in tuning if f != fold]
        best = max(scores, key=lambda setting: (statistics.mean(scores[setting][f] for f in others),
                                                setting == (SIGNAL_WEIGHT, REGULARISATION_C)))
        outcome.append((fold, best, scores[best][fold]))
    return outcome


def confusion_pairs(results: list[Result]) -> Counter:
    """Errors counted by unordered label pair (a ↔ b)."""
    return Counter(tuple(sorted((row["label"], decision.label))) for row, decision in results
                   if decision.label != row["label"])


CONFIDENCE_BANDS = (0.0, CONFIDENCE_THRESHOLD, 0.6, 0.75, 0.9, 1.01)


def reliability(results: list[Result]) -> str:
    """Accuracy per confidence band, e.g. `[0.60, 0.75) 11 at 0.91`: a calibrated router is right that often."""
    bands = []
    for low, high in itertools.pairwise(CONFIDENCE_BANDS):
        inside = [(r, x) for r, x in results if low <= x.confidence < high]
        if inside:
            bands.append(f"[{low:.2f}, {min(high, 1.0):.2f}) {len(inside)} at {accuracy(inside):.2f}")
    return ", ".join(bands)


def describe(title: str, results: list[Result], show_errors: bool) -> None:
    """Accuracy overall and by difficulty, local share, per-label recall, confused pairs, errors."""
    print(f"\n## {title} ({len(results)} requests)")
    # Not hard is easy, whatever a set calls it (« easy », « normal »).
    hard = [(r, x) for r, x in results if r.get("difficulty") == "hard"]
    easy = [(r, x) for r, x in results if r.get("difficulty") != "hard"]
    local = [(r, x) for r, x in results if x.confidence >= CONFIDENCE_THRESHOLD]
    print(f"accuracy {accuracy(results):.3f} | easy {accuracy(easy):.3f} ({len(easy)}) | hard {accuracy(hard):.3f} "
          f"({len(hard)}) | decided locally (>= {CONFIDENCE_THRESHOLD}) {len(local) / max(len(results), 1):.1%}, "
          f"accuracy there {accuracy(local):.3f}")
    for label in LABELS:
        mine = [(r, x) for r, x in results if r["label"] == label]
        print(f"  {label:20s} recall {accuracy(mine):.3f} ({len(mine)})")
    print("confidence bands (is the probability calibrated?): " + reliability(results))
    pairs = ", ".join(f"{a} ↔ {b}: {n}" for (a, b), n in confusion_pairs(results).most_common())
    print(f"confused pairs: {pairs or 'none'}")
    if show_errors:
        for row, decision in results:
            if decision.label != row["label"]:
                print(f"  ✗ {row['id']} {row['label']} -> {decision.label} ({decision.confidence:.2f}): "
                      f"{row['text'][:110]}")


def latency(router: LocalRouter, rows: list[dict]) -> None:
    """Warm `decide()` wall time per request, embedding included (live, not cached), with the load average."""
    router.decide("warm-up")
    times = []
    for row in rows:
        start = time.perf_counter()
        router.decide(row["text"])
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\nlatency of decide() over {len(times)} requests: p50 {statistics.median(times):.1f} ms, "
          f"p95 {p95:.1f} ms (load average {load} on {os.cpu_count()} cores)")


def shipped_router(training: list[dict]) -> tuple[LocalRouter, np.ndarray]:
    """The shipped router trained on its training data, and that data's vectors (disk-cached)."""
    router = LocalRouter()
    vectors = embed_all(router, [example["text"] for example in training])
    return router.fit(training, vectors), vectors


def score_blind(paths: list[Path], *, show_errors: bool = False) -> None:
    """Score whole request files (no folds) with the shipped router; errors printed only for tuning sets."""
    rows = [json.loads(line) for path in paths for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    training = load_training_data()
    if not show_errors:
        refuse_training_data(paths, training, "--blind")
    shipped, _ = shipped_router(training)
    vectors = dict(zip((row["id"] for row in rows), embed_all(shipped, [row["text"] for row in rows]), strict=True))
    seen = len(training_rows(rows, training))
    kind = "BLIND" if not show_errors else f"TUNING ({seen} of {len(rows)} requests are TRAINING DATA: a fit)"
    describe(f"{kind} {', '.join(path.name for path in paths)}, shipped router", decide_all(shipped, rows, vectors),
             show_errors=show_errors)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, action="append", help="JSONL requests; repeat for several")
    parser.add_argument("--holdout", action="store_true", help="also measure the untouched fold 0 (once, at the end)")
    parser.add_argument("--no-grid", action="store_true", help="skip the nested cross-validation of the settings")
    parser.add_argument("--blind", type=Path, action="append",
                        help="a hold-out file scored whole by the shipped router, its errors never printed; "
                             "refused when it holds training data")
    parser.add_argument("--tuning", type=Path, action="append",
                        help="a former hold-out now used for tuning: scored whole, its errors printed")
    args = parser.parse_args()
    if args.blind or args.tuning:
        for paths, show in ((args.blind, False), (args.tuning, True)):
            if paths:
                score_blind(paths, show_errors=show)
        return
    paths = args.dev or default_dev_paths()
    training = load_training_data()
    refuse_training_data(paths, training, "--dev")
    rows = load_requests(paths)
    shipped, train_vectors = shipped_router(training)
    vectors = dict(zip((row["id"] for row in rows), embed_all(shipped, [row["text"] for row in rows]), strict=True))
    counts = Counter(row["fold"] for row in rows)
    print(f"{len(training)} training requests, {len(rows)} dev requests, folds {dict(sorted(counts.items()))} "
          f"(fold {HOLDOUT_FOLD} untouched)")
    print(f"training data k-fold (no dev request used): {training_kfold(training, train_vectors):.3f}")
    tuning = [row for row in rows if row["fold"] != HOLDOUT_FOLD]
    per_fold = {fold: accuracy(decide_all(shipped, [r for r in tuning if r["fold"] == fold], vectors))
                for fold in sorted({row["fold"] for row in tuning})}
    print("shipped router on the tuning folds: " + ", ".join(f"fold {f} {a:.3f}" for f, a in per_fold.items())
          + f"; mean {statistics.mean(per_fold.values()):.3f}")
    describe("shipped router, tuning folds 1-4", decide_all(shipped, tuning, vectors), show_errors=True)
    if not args.no_grid:
        print("\n## nested cross-validation of (signal weight, C) over the tuning folds")
        outcome = nested_cv(training, train_vectors, tuning, vectors)
        for fold, setting, score in outcome:
            print(f"  fold {fold}: chosen on the others {setting}, accuracy {score:.3f}")
        print(f"  mean {statistics.mean(score for *_, score in outcome):.3f} "
              f"(shipped setting: {(SIGNAL_WEIGHT, REGULARISATION_C)})")
    if args.holdout:
        holdout = [row for row in rows if row["fold"] == HOLDOUT_FOLD]
        describe(f"UNTOUCHED fold {HOLDOUT_FOLD}, shipped router", decide_all(shipped, holdout, vectors),
                 show_errors=False)
    latency(shipped, tuning)


if __name__ == "__main__":
    main()
