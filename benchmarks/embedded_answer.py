"""Embedded default speed: a regulatory answer through Relais, and the same prompt in raw llama.cpp (issue 13).

For each question (bpf_dev2 tuning folds 1-4 by default; never the hold-out fold), the regulatory agent
answers through the supervisor on the embedded model. Every model call's messages and time are
recorded; the answer call's exact messages are then sent to llama-cpp-python alone (the same loaded
GGUF, KV cache cleared first, as many tokens as Relais generated), so the ratio isolates what Relais
adds around the model. Printed: per question and p50/p95 of the whole answer, of the answer call, of
raw llama.cpp, the ratio, and the load average (figures on a busy machine are slower).

    HF_HUB_OFFLINE=1 python benchmarks/embedded_answer.py --data-dir DIR_WITH_THE_BPF_INDEX [--questions 5]

Without --data-dir the GMP guide is ingested into a temporary folder first (minutes, cached vectors help).
"""

from __future__ import annotations

import argparse
import json
import os
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


def tuning_questions(count: int) -> list[dict]:
    """The first `count` answerable questions of the tuning folds (the hold-out fold is never read)."""
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assignment = folds(rows, k=5)
    kept = [row for row in rows if assignment[row["id"]] != HOLDOUT_FOLD and row.get("type") != "unanswerable"]
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


def answer_through_relais(graph: Any, question: str) -> tuple[float, dict[str, Any], str]:
    """(whole answer seconds, the answer call, the answer text) for one question."""
    from relais.context import Context

    recorder = CallRecorder()
    started = time.perf_counter()
    state = graph.invoke({"messages": [HumanMessage(question)]}, {"callbacks": [recorder]},
                         context=Context(requested_agent="regulatory_analysis"))
    total = time.perf_counter() - started
    answer_call = max(recorder.calls, key=lambda call: call["seconds"])  # the generation, not a router call
    return total, answer_call, str(state["messages"][-1].content)


def raw_llama_seconds(messages: list[BaseMessage], max_tokens: int) -> float:
    """The same messages through llama-cpp-python alone (KV cache cleared), generating `max_tokens`."""
    from relais.models import embedded
    from relais.models.catalog import build_chat_model, resolve_chain
    from relais.models.embedded import GENERATION_LOCK

    model = build_chat_model(resolve_chain("reasoning", "public")[0], "reasoning")
    llama = embedded._shared_llama(model.model_path, model.n_ctx, model.n_threads)  # noqa: SLF001
    with GENERATION_LOCK:
        llama.reset()
        started = time.perf_counter()
        llama.create_chat_completion(messages=model._create_message_dicts(messages),  # noqa: SLF001 - the exact dicts
                                     max_tokens=max(max_tokens, 1), temperature=0.2)
        return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (small samples: no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    """Time each question through Relais and raw, then print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="a RELAIS_DATA_DIR that holds the bpf index")
    parser.add_argument("--questions", type=int, default=5)
    args = parser.parse_args()
    for name in ("MISTRAL_API_KEY", "RELAIS_LOCAL_BASE_URL", "RELAIS_MODELS"):
        os.environ.pop(name, None)  # the embedded default, whatever the shell says
    data_dir = ensure_index(args.data_dir)
    os.environ["RELAIS_DATA_DIR"] = str(data_dir)
    try:
        measure(args.questions)
    finally:
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)  # the index it built for itself is not left in /tmp


def measure(count: int) -> None:
    """Answer `count` tuning questions through Relais and raw, printing each and the percentiles."""
    from graphs.supervisor import build_supervisor_graph

    graph = build_supervisor_graph()
    rows = []
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for item in tuning_questions(count):
        total, call, answer = answer_through_relais(graph, item["question"])
        raw = raw_llama_seconds(call["messages"], call["output_tokens"])
        rows.append({"total": total, "call": call["seconds"], "raw": raw, "tokens": call["output_tokens"]})
        print(f"{item['id']:>6}: answer {total:6.1f} s | answer call {call['seconds']:6.1f} s "
              f"({call['output_tokens']} tokens) | raw llama.cpp {raw:6.1f} s | ratio {call['seconds'] / raw:4.2f} "
              f"| load {os.getloadavg()[0]:.2f} | {answer[:60]!r}")
    for key, label in (("total", "whole answer"), ("call", "answer call"), ("raw", "raw llama.cpp")):
        values = [row[key] for row in rows]
        print(f"{label:14}: p50 {statistics.median(values):6.1f} s, p95 {percentile(values, 0.95):6.1f} s")
    ratios = [row["call"] / row["raw"] for row in rows]
    print(f"Relais answer call / raw llama.cpp: median ratio {statistics.median(ratios):.2f}; "
          f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
