"""Fold assignment for cross-validating retrieval and answer choices on bpf_dev + bpf_dev2 (issue 13).

Every choice (chunk size, reranker, query rewriting, thresholds...) is made on folds 1-4 and reported as the
mean over the folds it was not tuned on. Fold 0 (HOLDOUT_FOLD) is the untouched hold-out: never look at its
questions, scores or failures until the end, then report it once.

The split is stratified by question type (scikit-learn's StratifiedKFold, shuffled with a fixed seed), so each
fold holds about the same share of paraphrases, English questions, broad questions... Rows are sorted by id
before splitting: the file order does not matter, but the set of ids does. Adding or removing a question
reshuffles the folds, so the datasets are frozen once the folds are drawn (new questions go to a new file
with their own fold rule, never into these two).

Usage: python benchmarks/folds.py [--dataset FILE ...] [--k 5] [--seed 13] [--json]
Without --dataset: bpf_dev.jsonl from the shared folder ($RELAIS_SHARED_DIR/datasets, else the nearest
ancestor's shared/datasets) and evaluation/datasets/bpf_dev2.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
HOLDOUT_FOLD = 0
DEFAULT_K = 5
DEFAULT_SEED = 13  # the number; any fixed value works, changing it later is tuning on the hold-out


def folds(rows: list[dict], k: int = DEFAULT_K, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Map each question id to a fold in 0..k-1, stratified by the question's `type`.

    Args:
        rows: dataset lines, each with a unique "id" and a "type".
        k: number of folds; every type needs at least k questions.
        seed: shuffling seed; the same rows and seed always give the same folds.

    Returns:
        {id: fold}; fold HOLDOUT_FOLD (0) is the hold-out.

    Raises:
        ValueError: duplicate ids, or a type with fewer than k questions.

    >>> rows = [{"id": f"q{n:02d}", "type": "paraphrase" if n % 2 else "standard"} for n in range(20)]
    >>> assignment = folds(rows, k=5, seed=1)
    >>> sorted(Counter(assignment.values()).values())
    [4, 4, 4, 4, 4]
    >>> sorted(Counter(assignment[r["id"]] for r in rows if r["type"] == "paraphrase").values())
    [2, 2, 2, 2, 2]
    >>> assignment == folds(list(reversed(rows)), k=5, seed=1)
    True
    """
    ids = [row["id"] for row in rows]
    duplicates = sorted(name for name, count in Counter(ids).items() if count > 1)
    if duplicates:
        raise ValueError(f"duplicate ids: {', '.join(duplicates)}")
    ordered = sorted(rows, key=lambda row: row["id"])
    types = [row["type"] for row in ordered]
    too_small = sorted(name for name, count in Counter(types).items() if count < k)
    if too_small:
        raise ValueError(f"types with fewer than {k} questions cannot be spread over {k} folds: {too_small}")
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    assignment: dict[str, int] = {}
    for fold, (_, test_indices) in enumerate(splitter.split(ordered, types)):
        for index in test_indices:
            assignment[ordered[index]["id"]] = fold
    return assignment


def default_datasets() -> list[Path]:
    """bpf_dev.jsonl from the shared folder, then this repository's bpf_dev2.jsonl."""
    if os.environ.get("RELAIS_SHARED_DIR"):
        shared = Path(os.environ["RELAIS_SHARED_DIR"]) / "datasets" / "bpf_dev.jsonl"
    else:
        candidates = (folder / "shared" / "datasets" / "bpf_dev.jsonl" for folder in ROOT.parents)
        shared = next((path for path in candidates if path.is_file()), Path("shared/datasets/bpf_dev.jsonl"))
    return [shared, ROOT / "evaluation" / "datasets" / "bpf_dev2.jsonl"]


def load_rows(paths: list[Path]) -> list[dict]:
    """All JSON lines of the given files, blank lines skipped; a missing file is an error that names it."""
    rows = []
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found (set RELAIS_SHARED_DIR or pass --dataset)")
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def counts_table(rows: list[dict], assignment: dict[str, int], k: int) -> str:
    """Questions per fold and type, as aligned text; fold 0 is marked as the hold-out."""
    types = sorted({row["type"] for row in rows})
    cells = Counter((assignment[row["id"]], row["type"]) for row in rows)
    header = f"{'fold':<12}" + "".join(f"{name[:12]:>13}" for name in types) + f"{'total':>8}"
    lines = [header]
    for fold in range(k):
        label = f"{fold} (hold-out)" if fold == HOLDOUT_FOLD else str(fold)
        total = sum(cells[(fold, name)] for name in types)
        lines.append(f"{label:<12}" + "".join(f"{cells[(fold, name)]:>13}" for name in types) + f"{total:>8}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the questions per fold and type (or the id -> fold mapping with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, action="append", help="JSONL file; repeat for several")
    parser.add_argument("--k", type=int, default=DEFAULT_K)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--json", action="store_true", help="print {id: fold} instead of the counts")
    args = parser.parse_args(argv)
    paths = args.dataset or default_datasets()
    rows = load_rows(paths)
    assignment = folds(rows, k=args.k, seed=args.seed)
    if args.json:
        print(json.dumps(dict(sorted(assignment.items())), indent=1))
        return 0
    print(f"{len(rows)} questions from {', '.join(str(path) for path in paths)}; k={args.k}, seed={args.seed}")
    print(counts_table(rows, assignment, args.k))
    return 0


if __name__ == "__main__":
    sys.exit(main())
