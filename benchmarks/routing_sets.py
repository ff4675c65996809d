"""Leave-one-set-out cross-validation of the router's training data, settings and method (router round 6).

The former routing hold-outs (routing_blind3..8, 708 requests written blind by six writers) are labelled
requests like the exemplars. Each is held out in turn: the classifier is trained on the exemplars and the other
five sets, and measured on the set held out. The tuning dev folds (routing_dev + routing_dev2, folds 1-4; fold 0
is dropped as soon as the folds are drawn and never read) are scored by the router trained on the exemplars and
all six sets, which is the shipped router (with --dev-training, on the other dev folds too). The exemplars-only
router (the one before router round 6) is measured on the same rows for comparison.

Settings (signal weight, C, n-gram weight) are chosen by nested cross-validation (--nested): for each held-out
set, the setting with the best mean over the other five sets, each held out from a training on the four left;
never on the held-out set itself.

Caveat: the signal rules were written while reading the errors of blind3..blind6 (rounds 1-4), so those sets'
figures are optimistic; blind7 (read only on the unmerged branch router5) and blind8 (never read) are the fair
ones for the shipped signals.

    HF_HUB_OFFLINE=1 python benchmarks/routing_sets.py [--nested] [--methods] [--dev-training]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.folds import HOLDOUT_FOLD  # noqa: E402
from benchmarks.routing import default_dev_paths, load_requests  # noqa: E402
from graphs.router.classifier import (  # noqa: E402
    NGRAM_RANGE,
    NGRAM_WEIGHT,
    REGULARISATION_C,
    SIGNAL_WEIGHT,
    LocalRouter,
    load_exemplars,
)
from graphs.router.signals import (  # noqa: E402
    MAX_ROUTING_CHARS,
    instruction_text,
    normalise,
    routing_text,
    signal_vector,
)

DATASETS = ROOT / "evaluation" / "datasets"
SET_NAMES = ("blind3", "blind4", "blind5", "blind6", "blind7", "blind8")
GRID = {"weight": (0.1, 0.15, 0.25), "C": (10.0, 30.0, 100.0), "ngram_weight": (0.7, 1.0, 1.5)}
# The shipped method in the fast path below (the tables use LocalRouter itself).
SHIPPED = {"weight": SIGNAL_WEIGHT, "C": REGULARISATION_C, "class_weight": None,
           "ngrams": ("char_wb", *NGRAM_RANGE), "ngram_weight": NGRAM_WEIGHT}


class _NoEmbeddings:
    """LocalRouter fits here always receive their vectors: an embedding call would be a bug."""

    def embed_query(self, text: str) -> list[float]:
        raise AssertionError("vectors are precomputed")


_NO_EMBEDDINGS = _NoEmbeddings()


@dataclass
class Data:
    """Every labelled request, its group ('exemplars', a set name, 'dev1'..'dev4') and its features."""

    rows: list[dict]
    groups: np.ndarray
    labels: np.ndarray
    hard: np.ndarray
    instruction: np.ndarray  # unit embeddings of routing_text (what the shipped router embeds)
    whole: np.ndarray  # unit embeddings of the whole request (bounded like routing_text)
    signals: np.ndarray
    trainable: np.ndarray  # rows a fit may use (dev folds are scored but left out with --no-dev-training)
    extra: dict = field(default_factory=dict)


def load_rows(with_dev: bool) -> list[dict]:
    """Exemplars, the six former hold-outs and, unless told not to, dev folds 1-4 (fold 0 dropped here)."""
    rows = [{**example, "group": "exemplars", "id": f"ex{n}"} for n, example in enumerate(load_exemplars())]
    for name in SET_NAMES:
        path = DATASETS / f"routing_{name}.jsonl"
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                rows.append({**row, "group": name, "id": f"{name}:{row['id']}"})
    if with_dev:
        dev = [row for row in load_requests(default_dev_paths()) if row["fold"] != HOLDOUT_FOLD]
        rows += [{**row, "group": f"dev{row['fold']}", "id": f"dev:{row['id']}"} for row in dev]
    return rows


def whole_text(text: str) -> str:
    """The whole request, single-spaced and bounded as routing_text bounds the instruction."""
    flat = " ".join(text.split())
    if len(flat) <= MAX_ROUTING_CHARS:
        return flat
    head = MAX_ROUTING_CHARS * 2 // 3
    return flat[:head] + " … " + flat[-(MAX_ROUTING_CHARS - head):]


def unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def build(with_dev: bool, with_whole: bool, *, dev_training: bool = False) -> Data:
    """Rows and their features (embeddings from the disk cache, computed once)."""
    from retrievers.embeddings import get_embeddings

    embeddings = get_embeddings()
    rows = load_rows(with_dev)
    start = time.perf_counter()
    instruction = unit(np.asarray([embeddings.embed_query(routing_text(row["text"])) for row in rows]))
    whole = (unit(np.asarray([embeddings.embed_query(whole_text(row["text"])) for row in rows]))
             if with_whole else instruction)
    signals = np.vstack([signal_vector(row["text"]) for row in rows])
    print(f"{len(rows)} rows embedded in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    groups = np.array([row["group"] for row in rows])
    return Data(rows=rows, groups=groups, trainable=dev_training | ~np.char.startswith(groups, "dev"),
                labels=np.array([row["label"] for row in rows]),
                hard=np.array([row.get("difficulty") == "hard" for row in rows]),
                instruction=instruction, whole=whole, signals=signals)


# A method: (data, train mask, test mask, setting) -> predicted labels and their probabilities on the test rows.
Method = Callable[[Data, np.ndarray, np.ndarray, dict], tuple[np.ndarray, np.ndarray]]


def features(data: Data, setting: dict) -> np.ndarray:
    embedding = {"instruction": data.instruction, "whole": data.whole,
                 "both": np.hstack([data.instruction, data.whole]) / np.sqrt(2)}[setting.get("embed", "instruction")]
    return np.hstack([embedding, setting["weight"] * data.signals])


def regression(data: Data, train: np.ndarray, test: np.ndarray, setting: dict) -> tuple[np.ndarray, np.ndarray]:
    """The shipped method: logistic regression on [unit embedding, weight x signals]."""
    from sklearn.linear_model import LogisticRegression

    x = features(data, setting)
    if setting.get("ngrams"):
        x = with_ngrams(data, x, train, setting)
    weights = np.where(data.groups[train] == "exemplars", 1.0, setting.get("set_weight", 1.0))
    model = LogisticRegression(C=setting["C"], class_weight=setting["class_weight"], max_iter=5000)
    model.fit(x[train], data.labels[train], sample_weight=weights)
    probabilities = model.predict_proba(x[test])
    if setting.get("knn"):
        probabilities = (1 - setting["knn"]) * probabilities + setting["knn"] * knn_vote(
            data, train, test, model.classes_, setting.get("k", 10))
    return model.classes_[probabilities.argmax(axis=1)], probabilities.max(axis=1)


def with_ngrams(data: Data, x: np.ndarray, train: np.ndarray, setting: dict):  # noqa: ANN201 - a sparse matrix
    """Learned lexical features: tf-idf n-grams of the normalised instruction, fitted on the training rows."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    if "instructions" not in data.extra:
        data.extra["instructions"] = [normalise(instruction_text(row["text"])) for row in data.rows]
    texts = data.extra["instructions"]
    analyzer, low, high = setting["ngrams"]
    vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=(low, high), min_df=2, sublinear_tf=True)
    vectorizer.fit([text for text, kept in zip(texts, train, strict=True) if kept])
    return hstack([csr_matrix(x), setting.get("ngram_weight", 0.5) * vectorizer.transform(texts)]).tocsr()


def knn_vote(data: Data, train: np.ndarray, test: np.ndarray, classes: np.ndarray, k: int) -> np.ndarray:
    """Share of each label among the k training requests nearest by cosine (instruction embeddings)."""
    similarity = data.instruction[test] @ data.instruction[train].T
    nearest = np.argsort(-similarity, axis=1)[:, :k]
    train_labels = data.labels[train]
    votes = np.zeros((int(test.sum()), len(classes)))
    for column, label in enumerate(classes):
        votes[:, column] = (train_labels[nearest] == label).mean(axis=1)
    return votes


def score(data: Data, test: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    right = predicted == data.labels[test]
    return float(right.mean()), float(right[data.hard[test]].mean())


def held_out_groups(data: Data) -> list[str]:
    return [name for name in (*SET_NAMES, "dev1", "dev2", "dev3", "dev4") if name in set(data.groups)]


def loso(data: Data, setting: dict, method: Method = regression, *, sets_in_training: bool = True) -> dict:
    """{group: (accuracy, hard accuracy, predictions, confidences)} with that group held out."""
    outcome = {}
    for name in held_out_groups(data):
        test = data.groups == name
        if sets_in_training:
            train = ~test & data.trainable
        else:
            train = data.groups == "exemplars"
        predicted, confidence = method(data, train, test, setting)
        outcome[name] = (*score(data, test, predicted), predicted, confidence)
    return outcome


def pair_scores(data: Data, setting: dict, method: Method = regression) -> dict:
    """{(outer, inner): accuracy on inner} trained on everything but the sets outer and inner (one fit per pair)."""
    scores = {}
    for outer, inner in itertools.combinations(SET_NAMES, 2):
        train = (data.groups != outer) & (data.groups != inner) & data.trainable
        test = (data.groups == outer) | (data.groups == inner)
        predicted, _ = method(data, train, test, setting)
        right = predicted == data.labels[test]
        for held, other in ((outer, inner), (inner, outer)):
            scores[(other, held)] = float(right[data.groups[test] == held].mean())
    return scores


def settings_grid(grid: dict, base: dict) -> list[dict]:
    """Every combination of the grid's values over the base setting, the base itself first."""
    combinations = [{**base, **dict(zip(grid, values, strict=True))} for values in itertools.product(*grid.values())]
    return [base, *(setting for setting in combinations if setting != base)]


def nested(data: Data, grid: list[dict], method: Method = regression) -> list[tuple[str, dict, float, float]]:
    """For each set: the setting best on the other five (inner leave-one-out), measured on that set.

    Ties go to the first setting of the grid (the shipped one).
    """
    inner = {}
    outer = {}
    for n, setting in enumerate(grid):
        key = json.dumps(setting, sort_keys=True)
        inner[key] = pair_scores(data, setting, method)
        outer[key] = loso(data, setting, method)
        print(f"  grid {n + 1}/{len(grid)} {key}: LOSO mean "
              f"{statistics.mean(outer[key][s][0] for s in SET_NAMES):.4f}", file=sys.stderr)
    reference = json.dumps(grid[0], sort_keys=True)
    chosen = []
    for name in SET_NAMES:
        others = [other for other in SET_NAMES if other != name]

        def inner_mean(key: str, held: str = name, rest: list[str] = others) -> tuple[float, bool]:
            return statistics.mean(inner[key][(held, other)] for other in rest), key == reference

        best = max(inner, key=inner_mean)
        chosen.append((name, json.loads(best), outer[best][name][0], outer[best][name][1]))
    return chosen


def shipped_loso(data: Data, *, sets_in_training: bool = True, ngram_weight: float = NGRAM_WEIGHT) -> dict:
    """`loso` with graphs.router's own LocalRouter (what ships), fitted on the cached vectors."""
    outcome = {}
    for name in held_out_groups(data):
        test = data.groups == name
        train = (~test & data.trainable) if sets_in_training else data.groups == "exemplars"
        router = LocalRouter(embeddings=_NO_EMBEDDINGS, ngram_weight=ngram_weight)
        router.fit([data.rows[i] for i in np.flatnonzero(train)], data.instruction[train])
        decisions = [router.decide_vector(data.instruction[i], data.rows[i]["text"]) for i in np.flatnonzero(test)]
        predicted = np.array([decision.label for decision in decisions])
        outcome[name] = (*score(data, test, predicted), predicted,
                         np.array([decision.confidence for decision in decisions]))
    return outcome


def table(data: Data, columns: dict[str, dict]) -> None:
    """Accuracy and hard accuracy per held-out group, one column per router."""
    print(f"\n{'held out':10s} {'n':>4s} {'hard':>4s} | " + " | ".join(f"{name:>13s}" for name in columns))
    for name in held_out_groups(data):
        test = data.groups == name
        cells = " | ".join(f"{outcome[name][0]:6.3f} {outcome[name][1]:6.3f}" for outcome in columns.values())
        print(f"{name:10s} {int(test.sum()):4d} {int(data.hard[test].sum()):4d} | {cells}")
    dev = [name for name in held_out_groups(data) if name.startswith("dev")]
    for label, names in (("mean of the six sets", SET_NAMES), ("mean of dev folds 1-4", dev)):
        if names:
            cells = " | ".join(f"{statistics.mean(o[n][0] for n in names):6.3f} "
                               f"{statistics.mean(o[n][1] for n in names):6.3f}" for o in columns.values())
            print(f"{label:20s} | {cells}")


def bands(data: Data, outcome: dict, threshold: float = 0.45) -> str:
    """Accuracy per confidence band over the held-out sets' predictions (is the probability calibrated?)."""
    right = np.concatenate([outcome[n][2] == data.labels[data.groups == n] for n in SET_NAMES])
    confidence = np.concatenate([outcome[n][3] for n in SET_NAMES])
    parts = []
    for low, high in itertools.pairwise((0.0, threshold, 0.6, 0.75, 0.9, 1.01)):
        inside = (confidence >= low) & (confidence < high)
        if inside.any():
            parts.append(f"[{low:.2f}, {min(high, 1.0):.2f}) {int(inside.sum())} at {right[inside].mean():.3f}")
    return ", ".join(parts)


def compare(data: Data, name: str, setting: dict, reference: dict) -> dict:
    """One method variant under leave-one-set-out, printed per set against the reference outcome."""
    outcome = loso(data, setting)
    cells = " ".join(f"{s} {outcome[s][0]:.3f}({outcome[s][0] - reference[s][0]:+.3f})" for s in SET_NAMES)
    mean = statistics.mean(outcome[s][0] for s in SET_NAMES)
    hard = statistics.mean(outcome[s][1] for s in SET_NAMES)
    dev = [n for n in outcome if n.startswith("dev")]
    dev_mean = f", dev {statistics.mean(outcome[n][0] for n in dev):.3f}" if dev else ""
    print(f"  {name:34s} mean {mean:.4f} hard {hard:.4f}{dev_mean} | {cells}")
    return outcome


def methods(data: Data, base: dict) -> None:
    """Other method changes, each under the same leave-one-set-out protocol as the base setting."""
    print("\n## method variants (leave-one-set-out; per set: accuracy (difference with the base))")
    reference = compare(data, "base", base, loso(data, base))
    variants = {
        "no n-grams (embedding + signals only)": {**base, "ngrams": None},
        "word 1-2 grams instead of characters": {**base, "ngrams": ("word", 1, 2)},
        "character 3-5 grams": {**base, "ngrams": ("char_wb", 3, 5)},
        "kNN vote 0.3 blended (k=5)": {**base, "knn": 0.3, "k": 5},
        "embed the whole request": {**base, "embed": "whole"},
        "embed instruction + whole": {**base, "embed": "both"},
        "set rows weigh 2x the exemplars": {**base, "set_weight": 2.0},
        "balanced class weights": {**base, "class_weight": "balanced"},
    }
    for name, setting in variants.items():
        compare(data, name, setting, reference)


def main() -> None:
    """Print the leave-one-set-out table, the nested choice of settings and, on request, method variants."""
    from threadpoolctl import threadpool_limits

    # One BLAS thread: on a loaded 2-core machine two threads made each fit ten times slower (measured).
    threadpool_limits(limits=1, user_api="blas")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev-training", action="store_true", help="also train on dev folds 1-4 (never fold 0)")
    parser.add_argument("--nested", action="store_true", help="nested choice of (signal weight, C, n-gram weight)")
    parser.add_argument("--methods", action="store_true", help="also try the method variants")
    args = parser.parse_args()
    data = build(with_dev=True, with_whole=args.methods, dev_training=args.dev_training)
    print(f"{len(data.rows)} rows: " + ", ".join(f"{g} {int((data.groups == g).sum())}"
                                                 for g in ("exemplars", *held_out_groups(data)))
          + f"; dev folds {'in' if args.dev_training else 'never in'} training")
    columns = {
        "exemplars": shipped_loso(data, sets_in_training=False, ngram_weight=0.0),
        "+sets": shipped_loso(data, ngram_weight=0.0),
        "+sets+ngrams": shipped_loso(data),
    }
    print("\n## leave-one-set-out: accuracy and hard accuracy of LocalRouter trained on the exemplars only, on the"
          " exemplars and the other sets, and the same with character n-grams (the shipped router)")
    table(data, columns)
    for name, outcome in columns.items():
        print(f"confidence bands over the six sets, {name}: {bands(data, outcome)}")
    if args.nested:
        print("\n## nested choice of settings (inner leave-one-set-out over the five other sets)")
        chosen = nested(data, settings_grid(GRID, SHIPPED))
        for name, setting, accuracy, hard in chosen:
            print(f"  {name}: chosen {setting} -> {accuracy:.3f} (hard {hard:.3f})")
        print(f"  mean {statistics.mean(c[2] for c in chosen):.4f} (hard {statistics.mean(c[3] for c in chosen):.4f})")
    if args.methods:
        methods(data, SHIPPED)


if __name__ == "__main__":
    main()
