"""Embedded default speed: a regulatory answer through Relais, and the same prompt in raw llama.cpp (issue 13).

For each question (bpf_dev2 tuning folds 1-4 by default; never the hold-out fold), the regulatory agent
answers through the supervisor on the embedded model. Every model call's messages and time are
recorded; the longest call's exact messages are then sent to llama-cpp-python alone (the same loaded
GGUF, KV cache cleared first, as many tokens as Relais generated), so the ratio isolates what Relais
adds around the model. Printed: per question and p50/p95 of the whole answer, of the longest call, of
raw llama.cpp, the ratio, and the load average (figures on a busy machine are slower).

`--mode` picks the answer path: `extract-first` (what the embedded model gets: it picks the extracts'
sentences, code quotes them, a short synthesis), `generative` (the capable models' path, forced onto the
embedded model for comparison) or `both` (each question answered both ways, one after the other). Each
answer is also read for what the issue asks of it: a refusal (« ne traite pas », « ne fixe pas »), the
inline references (§…) and quotations it carries, and the share of the question's gold quotes it holds.

    HF_HUB_OFFLINE=1 python benchmarks/embedded_answer.py --data-dir DIR_WITH_THE_BPF_INDEX [--questions 5] \
        [--mode both] [--no-raw] [--dataset evaluation/datasets/bpf_blind3.jsonl]

Without --data-dir the GMP guide is ingested into a temporary folder first (minutes, cached vectors help).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage, HumanMessage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.folds import HOLDOUT_FOLD, folds  # noqa: E402

QUESTIONS = ROOT / "evaluation" / "datasets" / "bpf_dev2.jsonl"


class CallRecorder(BaseCallbackHandler):
    """Each chat-model call of a run: its messages, wall time and generated tokens."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self._open: dict[Any, dict[str, Any]] = {}

    def on_chat_model_start(self, serialized: Any, messages: list[list[BaseMessage]], *, run_id: Any,
                            **kwargs: Any) -> None:
        if not (kwargs.get("metadata") or {}).get("relais_model"):
            return  # an answer built in code, published through a verbatim "model" (relais.publish): no model call
        self._open[run_id] = {"messages": messages[0], "started": time.perf_counter(),
                              "tags": kwargs.get("tags") or []}

    def on_llm_end(self, response: Any, *, run_id: Any, **kwargs: Any) -> None:
        call = self._open.pop(run_id, None)
        if call is None:
            return
        call["seconds"] = time.perf_counter() - call["started"]
        message = getattr(response.generations[0][0], "message", None)
        usage = getattr(message, "usage_metadata", None) or {}
        call["output_tokens"] = int(usage.get("output_tokens", 0))
        self.calls.append(call)


def tuning_questions(count: int, dataset: Path | None = None) -> list[dict]:
    """The first `count` answerable questions of the tuning folds (the hold-out fold is never read).

    With `dataset` (a hold-out file such as bpf_blind3.jsonl, no folds), its first `count` answerable ones.
    """
    path = dataset or QUESTIONS
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assignment = folds(rows, k=5) if dataset is None else {}
    kept = [row for row in rows
            if assignment.get(row["id"]) != HOLDOUT_FOLD and row.get("type") != "unanswerable" and row.get("gold")]
    return kept[:count]


def ensure_index(data_dir: Path | None) -> Path:
    """A data folder holding the GMP-guide index (ingested into a temporary folder when none is given)."""
    if data_dir is not None:
        return data_dir
    from retrievers.index import ingest

    folder = Path(tempfile.mkdtemp(prefix="relais-bench-embedded-"))
    os.environ["RELAIS_DATA_DIR"] = str(folder)
    shared = Path(os.environ.get("RELAIS_SHARED_DIR", ROOT.parent / "shared"))
    ingest("bpf", shared / "knowledge" / "bpf-2019")
    return folder


def answer_through_relais(graph: Any, question: str) -> tuple[float, list[dict[str, Any]], str]:
    """(whole answer seconds, every model call, the answer text) for one question."""
    from relais.context import Context

    recorder = CallRecorder()
    started = time.perf_counter()
    state = graph.invoke({"messages": [HumanMessage(question)]}, {"callbacks": [recorder]},
                         context=Context(requested_agent="regulatory_analysis"))
    total = time.perf_counter() - started
    return total, recorder.calls, str(state["messages"][-1].content)


def answer_path(mode: str) -> None:
    """Send the regulatory agent down `mode`'s path whatever the model's size.

    The graph chooses by `answers_on_small_model`, true for the embedded model: the generative path is forced
    by answering « not small » for this process (a benchmark's comparison, never a setting).
    """
    from agents.regulatory_analysis import graph

    graph.answers_on_small_model = lambda *args, **kwargs: mode == "extract-first"  # type: ignore[assignment]


_REFUSAL = re.compile(r"ne traite pas|ne fixe (?:pas|rien)|ne couvre pas|ne précise pas|❌", re.IGNORECASE)
_INLINE_REFERENCE = re.compile(r"[(\[](?:Partie|Annexe|LD)[^)\]\n]*§[^)\]\n]*[)\]]")


def answer_signals(answer: str, gold: list[dict]) -> dict[str, Any]:
    """What the issue asks of an answer: no refusal, inline references, quotations, the gold quotes."""
    from retrievers.citations import find_quotes, normalise

    body = answer.split("**Sources**")[0]
    flat = normalise(body)
    held = [item for item in gold if normalise(item["quote"]).strip(" .") in flat]
    return {"refusal": bool(_REFUSAL.search(body)), "references": len(_INLINE_REFERENCE.findall(body)),
            "quotes": len(find_quotes(body)), "gold": len(held) / len(gold) if gold else None}


def raw_llama_seconds(messages: list[BaseMessage], max_tokens: int) -> float:
    """The same messages through llama-cpp-python alone (KV cache cleared, no prompt cache), generating `max_tokens`."""
    from relais.models import embedded
    from relais.models.catalog import build_chat_model, resolve_chain
    from relais.models.embedded import GENERATION_LOCK

    model = build_chat_model(resolve_chain("reasoning", "public")[0], "reasoning")
    llama = embedded._shared_llama(model.model_path, model.n_ctx, model.n_threads)  # noqa: SLF001
    with GENERATION_LOCK:
        # reset() only rewinds the context: the prompt cache (RELAIS_EMBEDDED_PROMPT_CACHE_MB) still holds the state
        # Relais just evaluated for these very messages, and raw llama.cpp would resume from it (2-4 s « raw »
        # against 30 s, a ratio of 15 that measured the cache). Raw means no cache at all.
        kept_cache, llama.cache = llama.cache, None
        llama.reset()
        try:
            started = time.perf_counter()
            llama.create_chat_completion(messages=model._create_message_dicts(messages),  # noqa: SLF001 - the exact dicts
                                         max_tokens=max(max_tokens, 1), temperature=0.2)
            return time.perf_counter() - started
        finally:
            llama.cache = kept_cache


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (small samples: no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    """Time each question through Relais (and raw), then print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="a RELAIS_DATA_DIR that holds the bpf index")
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--mode", choices=("extract-first", "generative", "both"), default="both")
    parser.add_argument("--no-raw", action="store_true", help="skip the raw llama.cpp replay (halves the time)")
    parser.add_argument("--out", type=Path, help="write each answer with its figures here (JSON Lines)")
    parser.add_argument("--dataset", type=Path, help="questions of a hold-out file instead of bpf_dev2's tuning folds")
    args = parser.parse_args()
    for name in ("MISTRAL_API_KEY", "RELAIS_LOCAL_BASE_URL", "RELAIS_MODELS"):
        os.environ.pop(name, None)  # the embedded default, whatever the shell says
    data_dir = ensure_index(args.data_dir)
    os.environ["RELAIS_DATA_DIR"] = str(data_dir)
    modes = ("extract-first", "generative") if args.mode == "both" else (args.mode,)
    try:
        measure(args.questions, modes, raw=not args.no_raw, out=args.out, dataset=args.dataset)
    finally:
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)  # the index it built for itself is not left in /tmp


def measure(count: int, modes: tuple[str, ...], *, raw: bool, out: Path | None = None,
            dataset: Path | None = None) -> None:
    """Answer `count` tuning questions in each mode, printing each answer and each mode's percentiles."""
    from graphs.supervisor import build_supervisor_graph

    graph = build_supervisor_graph()
    rows: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    print(f"load average before: {_load()} on {os.cpu_count()} cores")
    for item in tuning_questions(count, dataset):
        for mode in modes:
            answer_path(mode)
            row = measure_one(graph, item, raw=raw)
            rows[mode].append(row)
            if out is not None:
                keep(out, {"id": item["id"], "mode": mode, **row})
            print(f"{item['id']:>6} {mode:>13}: answer {row['total']:6.1f} s | calls "
                  + " + ".join(f"{call['seconds']:.1f} s ({call['output_tokens']} tok)" for call in row["calls"])
                  + (f" | raw llama.cpp {row['raw']:6.1f} s, ratio {row['longest'] / row['raw']:4.2f}"
                     if raw and row["raw"] else " | no model call" if not row["calls"] else "")
                  + f" | refusal {row['refusal']} | refs {row['references']} | quotes {row['quotes']} | "
                  f"gold {row['gold'] if row['gold'] is None else round(row['gold'], 2)} | load {_load()} | "
                  f"{row['answer'][:70]!r}")
    for mode in modes:
        summarise(mode, rows[mode], raw=raw)
    print(f"load average after: {_load()}")


def keep(out: Path, row: dict[str, Any]) -> None:
    """Append one answer and its figures to `out` (the calls' messages left out)."""
    calls = [{"seconds": call["seconds"], "output_tokens": call["output_tokens"]} for call in row["calls"]]
    with out.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({**row, "calls": calls}, ensure_ascii=False) + "\n")


def measure_one(graph: Any, item: dict, *, raw: bool) -> dict[str, Any]:
    """One question's answer: its time, its calls, the raw replay of its longest call, what it holds."""
    total, calls, answer = answer_through_relais(graph, item["question"])
    # the generation, not a router call; an answer given without the model (no extract found) has none
    longest = max(calls, key=lambda call: call["seconds"], default=None)
    row = {"total": total, "calls": calls, "longest": longest["seconds"] if longest else 0.0, "answer": answer,
           **answer_signals(answer, item.get("gold") or [])}
    if raw:
        row["raw"] = raw_llama_seconds(longest["messages"], longest["output_tokens"]) if longest else None
    return row


def summarise(mode: str, rows: list[dict[str, Any]], *, raw: bool) -> None:
    """p50/p95 of one mode's times, and how many answers refused, cited and held gold quotes."""
    keys = (("total", "whole answer"), ("longest", "longest call")) + ((("raw", "raw llama.cpp"),) if raw else ())
    for key, label in keys:
        values = [row[key] for row in rows if row[key] is not None]
        print(f"{mode:>13} {label:14}: p50 {statistics.median(values):6.1f} s, p95 {percentile(values, 0.95):6.1f} s")
    if raw:
        ratios = [row["longest"] / row["raw"] for row in rows if row["raw"]]
        print(f"{mode:>13} Relais longest call / raw llama.cpp: median ratio {statistics.median(ratios):.2f}")
    golds = [row["gold"] for row in rows if row["gold"] is not None]
    print(f"{mode:>13} answers: {sum(row['refusal'] for row in rows)}/{len(rows)} refusing, "
          f"{sum(row['references'] > 0 for row in rows)}/{len(rows)} with inline references, "
          f"mean gold-quote share {statistics.mean(golds) if golds else float('nan'):.2f}")


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
