"""Comparison questions: the regulatory agent's extracts with one search for the whole guide vs one per part.

For each `comparison` question of bpf_dev + bpf_dev2 (folds 1-4 by default; fold 0 is the hold-out, scored
only with --holdout), the extracts the agent hands the model are built two ways, with the agent's budget
(`Context.top_k`, 6):
- before: the paragraphs the question names (get_paragraph), then `search(question, k=top_k)`;
- after: the same named paragraphs, then one `search(..., within=[part])` per part the question names
  (top_k shared between them, at least 2 each) when it names two or more, else the single search.
A gold paragraph is found when its quote (white space collapsed) is inside one of the extracts, as in
benchmarks/retrieval.py. Printed: recall and hit over the comparison questions, per fold and their mean,
how many questions name two parts or more, and the mean number of extracts each way.

Usage: python benchmarks/regulatory_comparison.py [--bpf-dir DIR] [--folds 1,2,3,4 | --holdout] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.folds import HOLDOUT_FOLD, default_datasets  # noqa: E402
from benchmarks.retrieval import (  # noqa: E402
    DEFAULT_FOLDS,
    _default_bpf_dir,
    parse_folds,
    score_question,
    select_questions,
)

TOP_K = 6  # relais.context.Context.top_k's default: what the agent hands the model


def extracts_before(question: str) -> list[str]:
    from agents.regulatory_analysis.graph import cited_paragraphs
    from retrievers.search import search

    named = cited_paragraphs(question, "bpf")
    return [chunk.page_content for chunk in named] + [hit.text for hit in search("bpf", question, k=TOP_K)]


def extracts_after(question: str) -> tuple[list[str], bool]:
    from agents.regulatory_analysis.graph import cited_paragraphs, compared_parts, search_each_part
    from retrievers.search import search

    named = [chunk.page_content for chunk in cited_paragraphs(question, "bpf")]
    compared = compared_parts(question, "bpf")
    hits = search_each_part("bpf", question, compared, TOP_K) if compared else search("bpf", question, k=TOP_K)
    return named + [hit.text for hit in hits], bool(compared)


def score(rows: list[dict], key: str) -> tuple[float, float]:
    answerable = [row for row in rows if row["total"]]
    recall = sum(row[key][0] for row in answerable) / max(1, sum(row["total"] for row in answerable))
    hit = sum(row[key][0] > 0 for row in answerable) / max(1, len(answerable))
    return recall, hit


def evaluate(questions: list[dict]) -> list[dict]:
    rows = []
    for question in questions:
        before = extracts_before(question["question"])
        after, compared = extracts_after(question["question"])
        found_before, total, _ = score_question(question, before)
        found_after, _, _ = score_question(question, after)
        rows.append({"id": question["id"], "fold": question["fold"], "total": total, "compared": compared,
                     "before": (found_before, len(before)), "after": (found_after, len(after))})
    return rows


def report(rows: list[dict]) -> None:
    for key in ("before", "after"):
        recall, hit = score(rows, key)
        per_fold = {fold: score([row for row in rows if row["fold"] == fold], key)[0]
                    for fold in sorted({row["fold"] for row in rows})}
        extracts = statistics.mean(row[key][1] for row in rows)
        folds = " ".join(f"{fold}:{value:.3f}" for fold, value in per_fold.items())
        print(f"{key:7} recall {recall:.3f} hit {hit:.3f}  per fold {folds}  fold mean "
              f"{statistics.mean(per_fold.values()):.3f}  extracts/question {extracts:.1f}")
    named = [row for row in rows if row["compared"]]
    print(f"questions naming two parts or more (searched per part): {len(named)}/{len(rows)}")
    if named:
        for key in ("before", "after"):
            recall, hit = score(named, key)
            print(f"  those only, {key:7} recall {recall:.3f} hit {hit:.3f}")
    changed = [f"{row['id']}: {row['before'][0]}->{row['after'][0]}/{row['total']}" for row in rows
               if row["before"][0] != row["after"][0]]
    print("questions whose found gold changed:", ", ".join(changed) or "none")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bpf-dir", type=Path, default=_default_bpf_dir())
    parser.add_argument("--folds", default=DEFAULT_FOLDS, help="folds to score, e.g. 1,2,3,4")
    parser.add_argument("--holdout", action="store_true", help=f"score fold {HOLDOUT_FOLD} only, once, at the end")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "relais-bench-comparison")
    args = parser.parse_args()
    wanted = {HOLDOUT_FOLD} if args.holdout else parse_folds(args.folds)
    questions = [q for q in select_questions(default_datasets(), wanted) if q["type"] == "comparison"]
    print(f"comparison questions: {len(questions)}, folds {sorted(wanted)}; load average {os.getloadavg()[0]:.2f}")
    os.environ["RELAIS_DATA_DIR"] = str(args.work / "data")
    os.environ.setdefault("RELAIS_EMBEDDING_CACHE_DIR", str(args.work / "embeddings"))
    from relais.settings import get_settings
    from retrievers.index import ingest

    get_settings.cache_clear()
    started = time.perf_counter()
    ingest("bpf", args.bpf_dir)
    print(f"index ready in {time.perf_counter() - started:.0f} s")
    report(evaluate(questions))
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
