"""Retrieval steps that call the embedded model (issue 13): query rewriting and pointwise LLM reranking.

Measured on the same questions and folds as benchmarks/retrieval.py (folds 1-4 by default; fold 0 only with
--holdout), against plain `search()` on the same index:
- rewrite: `retrievers.query_rewrite.rewrite_query` restates the question in the guide's vocabulary, and
  the question plus its rewrite is searched (k=5);
- rerank: `search()` returns --candidates passages, `retrievers.llm_rerank.rerank_hits` keeps the 5 the
  embedded model scores highest (yes/no log-odds).
Both cost model time: the script prints each step's p50/p95 latency and the load average, and caches
rewrites under --work so that a rerun re-measures search without regenerating them (latency then comes from
the first run's log). Use --types and --limit to measure on a subset when the full set is too slow.

Usage: python benchmarks/retrieval_llm.py [--folds 1,2,3,4] [--types paraphrase,broad] [--limit N]
                                          [--steps rewrite,rerank] [--candidates 15] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
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
    print_report,
    score_question,
    select_questions,
    summarise,
)


def build_index(bpf_dir: Path, work: Path) -> None:
    """Ingest the guide into a fresh data folder under `work` (vectors come from the shared cache)."""
    os.environ["RELAIS_DATA_DIR"] = str(work / f"relais-llm-{int(time.time())}")
    os.environ.setdefault("RELAIS_EMBEDDING_CACHE_DIR", str(work / "embeddings"))
    from relais.settings import get_settings
    from retrievers.index import ingest

    get_settings.cache_clear()
    ingest("bpf", bpf_dir)


def _row(question: dict, texts: list[str], milliseconds: float) -> dict:
    found, total, rr = score_question(question, texts)
    return {"id": question["id"], "type": question["type"], "found": found, "total": total, "rr": rr,
            "ms": milliseconds, "fold": question.get("fold"), "dataset": question.get("dataset", "")}


def timed(function, *args, **kwargs):  # noqa: ANN001, ANN201 - any call
    """(result, milliseconds)."""
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, (time.perf_counter() - started) * 1000


def run(questions: list[dict], steps: set[str], candidates: int, work: Path) -> list[tuple[dict, list[dict]]]:
    """Plain search, then each requested step, on every question; returns (figures, rows) per system."""
    from relais.models.catalog import get_chat_model
    from retrievers.llm_rerank import embedded_scorer, rerank_hits
    from retrievers.query_rewrite import expanded_query, rewrite_query
    from retrievers.search import search

    cache_path = work / "rewrites.json"
    rewrites = json.loads(cache_path.read_text(encoding="utf-8")) if cache_path.is_file() else {}
    model = get_chat_model("fast", "internal") if "rewrite" in steps else None
    scorer = embedded_scorer() if "rerank" in steps else None
    search("bpf", "warm-up", k=5)
    systems: dict[str, list[dict]] = {"search": []}
    for number, question in enumerate(questions, 1):
        text = question["question"]
        hits, ms = timed(search, "bpf", text, k=5)
        systems["search"].append(_row(question, [hit.text for hit in hits], ms))
        if "rewrite" in steps:
            if text not in rewrites:
                rewrites[text], generation_ms = timed(rewrite_query, text, model)
                rewrites[f"ms:{text}"] = generation_ms
                cache_path.write_text(json.dumps(rewrites, ensure_ascii=False, indent=1), encoding="utf-8")
            hits, ms = timed(search, "bpf", expanded_query(text, rewrites[text]), k=5)
            systems.setdefault("search + rewrite", []).append(
                _row(question, [hit.text for hit in hits], ms + rewrites[f"ms:{text}"]))
        if "rerank" in steps:
            pool, search_ms = timed(search, "bpf", text, k=candidates)
            ranked, rerank_ms = timed(rerank_hits, text, pool, scorer, 5)
            systems.setdefault(f"search {candidates} + llm rerank", []).append(
                _row(question, [hit.text for hit in ranked], search_ms + rerank_ms))
        found = " ".join(f"{name}: {rows[-1]['found']}/{rows[-1]['total']} rr {rows[-1]['rr']:.2f} "
                         f"{rows[-1]['ms'] / 1000:.1f} s" for name, rows in systems.items())
        print(f"{number}/{len(questions)} {question['id']} load {os.getloadavg()[0]:.1f} | {found}", file=sys.stderr,
              flush=True)
    return [(summarise(name, rows, 5), rows) for name, rows in systems.items()]


def first_of_each_type(questions: list[dict], limit: int) -> list[dict]:
    """The first `limit` questions of each type, in dataset order (a fixed subset, not a chosen one)."""
    kept: list[dict] = []
    for question in questions:
        if sum(other["type"] == question["type"] for other in kept) < limit:
            kept.append(question)
    return kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bpf-dir", type=Path, default=_default_bpf_dir())
    parser.add_argument("--folds", default=DEFAULT_FOLDS)
    parser.add_argument("--holdout", action="store_true", help=f"score fold {HOLDOUT_FOLD} only, once, at the end")
    parser.add_argument("--types", default="", help="question types to keep, e.g. paraphrase,broad ('' = all)")
    parser.add_argument("--limit", type=int, default=0, help="at most this many questions per type (0 = all)")
    parser.add_argument("--steps", default="rewrite,rerank")
    parser.add_argument("--candidates", type=int, default=15)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "relais-bench-retrieval")
    args = parser.parse_args()
    wanted = {HOLDOUT_FOLD} if args.holdout else parse_folds(args.folds)
    questions = [q for q in select_questions(default_datasets(), wanted) if q["gold"]]
    types = {name for name in args.types.split(",") if name}
    questions = [q for q in questions if not types or q["type"] in types]
    if args.limit:
        questions = first_of_each_type(questions, args.limit)
    print(f"questions: {len(questions)} ({', '.join(q['id'] for q in questions)}); "
          f"load average {os.getloadavg()[0]:.2f}")
    args.work.mkdir(parents=True, exist_ok=True)
    build_index(args.bpf_dir, args.work)
    results = run(questions, {step for step in args.steps.split(",") if step}, args.candidates, args.work)
    print_report(results, 5)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
