"""Run a dataset through the real graph and store answers, sources, timings, usage and scores.

A results folder holds `manifest.json` (configuration, model chain of each role, dataset, summary)
and `results.jsonl` (one line per question, written as soon as the question is done, so an
interrupted run keeps what it has).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from langchain_core.runnables import Runnable, RunnableConfig

from evaluation.checks import run_checks
from evaluation.dataset import AUTO, EvalItem, dataset_files
from evaluation.guide import GuideReference
from evaluation.judge import JudgeSetup, answer_models, judge_answer, scores_record, self_judge_refusal
from evaluation.results import MANIFEST_FILE, RESULTS_FILE, summarise
from relais.context import Context
from relais.labels import Label
from relais.models.tracking import ModelCallLog

ProgressFactory = Callable[[int], Any]  # total -> an object with update() and close() (tqdm)


def graph_input(item: EvalItem) -> dict:
    """The supervisor's input for one question."""
    return {"messages": [{"role": "user", "content": item.question}], "structured": item.structured}


def run_context(item: EvalItem, agent_override: str | None = None) -> Context:
    """The run's context: the agent asked for, `agent_override` ("auto" or a label) beating the dataset's."""
    agent = agent_override or item.agent
    return Context(requested_agent=None if agent in (None, AUTO) else cast(Label, agent))


def _attempt(call: Callable[[], Any]) -> tuple[Any, str | None]:
    """Run one step of one question; its failure is recorded on its line and the run goes on."""
    try:
        return call(), None
    except Exception as error:  # noqa: BLE001 - any failure of a question belongs in its results line
        return None, f"{type(error).__name__}: {error}"


def _text(message: Any) -> str:
    content = message.get("content") if isinstance(message, Mapping) else getattr(message, "content", message)
    if isinstance(content, list):  # content blocks
        return "".join(block.get("text", "") if isinstance(block, Mapping) else str(block) for block in content)
    return str(content or "")


def _source(raw: Any) -> dict:
    if isinstance(raw, Mapping):
        source = {"title": str(raw.get("title", "")), "text": str(raw.get("text", ""))}
        source.update({key: raw[key] for key in ("url", "metadata") if raw.get(key) is not None})
        return source
    metadata = dict(getattr(raw, "metadata", {}) or {})  # a LangChain Document
    return {"title": str(metadata.get("title", "")), "text": str(getattr(raw, "page_content", raw)),
            "metadata": metadata}


def _base_row(item: EvalItem, agent_override: str | None) -> dict:
    gold = None if item.gold is None else [vars(ref) for ref in item.gold]
    return {"id": item.id, "question": item.question, "agent": agent_override or item.agent,
            "expected_agent": item.expected_agent, "type": item.type, "structured": item.structured,
            "reference": item.reference, "gold": gold, "error": None}


def _calls(log: ModelCallLog) -> list[dict]:
    """The model calls of one question that returned an answer, as stored in its results line."""
    return [{"model": call.model, "role": call.role} for call in log.succeeded]


def _grade(row: dict, item: EvalItem, judge: JudgeSetup) -> None:
    """Judge one answer, unless the judge is a model that wrote it (refused without `allow_self_judge`)."""
    written_by = answer_models(row["models"])
    refusal = self_judge_refusal(judge.planned, written_by, judge.allow_self_judge)
    if refusal:
        row.update(judge=None, judge_error=refusal, judge_model=judge.planned, self_judge_refused=True)
        return
    log = ModelCallLog()
    scores, row["judge_error"] = _attempt(lambda: judge_answer(
        item.question, row["answer"], row["sources"], item.reference, model=judge.model,
        config={"callbacks": [log]}))
    graded_by = next((call["model"] for call in reversed(_calls(log))), judge.planned)
    row["judge_model"] = graded_by
    refusal = self_judge_refusal(graded_by, written_by, judge.allow_self_judge)  # a fallback of the judge
    if refusal:
        scores, row["judge_error"], row["self_judge_refused"] = None, refusal, True
    row["judge"] = scores_record(scores) if scores is not None else None


def evaluate_item(
    item: EvalItem,
    graph: Runnable,
    *,
    judge: JudgeSetup | None = None,
    guide: GuideReference | None = None,
    agent_override: str | None = None,
) -> dict:
    """One results line: the answer, its sources, route, usage, the models that answered, checks, marks."""
    row = _base_row(item, agent_override)
    started = time.perf_counter()
    log = ModelCallLog()  # which models wrote this answer, fallbacks included: the judge must not be one
    config: RunnableConfig = {"configurable": {"thread_id": f"eval-{item.id}-{time.time_ns()}"}, "callbacks": [log]}
    context = run_context(item, agent_override)
    state, row["error"] = _attempt(lambda: graph.invoke(graph_input(item), config, context=context))
    row["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    row["models"] = _calls(log)
    if row["error"]:
        return row
    messages = state.get("messages") or []
    row["answer"] = _text(messages[-1]) if messages else ""
    row["sources"] = [_source(source) for source in state.get("sources") or []]
    row["route"] = dict(state.get("route") or {})
    row["usage"] = dict(state.get("usage") or {})
    row["checks"] = run_checks(item, row["answer"], row["sources"], row["route"], guide)
    if judge is not None:
        _grade(row, item, judge)
    return row


def dataset_digest(path: Path) -> str:
    """SHA-256 of the dataset file (and its gold file), so two runs can be told to use the same questions."""
    digest = hashlib.sha256()
    for file in dataset_files(path):
        digest.update(file.read_bytes())
    return digest.hexdigest()


def write_manifest(out_dir: Path, manifest: Mapping) -> None:
    """Write (or rewrite) the run manifest."""
    text = json.dumps(manifest, ensure_ascii=False, indent=2, default=str)
    (out_dir / MANIFEST_FILE).write_text(text + "\n", encoding="utf-8")


def answered_rows(out_dir: Path, items: Sequence[EvalItem]) -> dict[str, dict]:
    """The lines of an interrupted run worth keeping: answered questions of this dataset, by id.

    A line that recorded an error, or that the interruption cut in half, is asked again.
    """
    path = Path(out_dir) / RESULTS_FILE
    if not path.is_file():
        return {}
    wanted = {item.id for item in items}
    kept: dict[str, dict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and row.get("id") in wanted and not row.get("error"):
            kept[row["id"]] = row
    return kept


def _write_line(results: Any, row: dict) -> None:
    results.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    results.flush()


def run_dataset(
    items: Sequence[EvalItem],
    graph: Runnable,
    out_dir: Path,
    manifest: Mapping,
    *,
    judge: JudgeSetup | None = None,
    guide: GuideReference | None = None,
    agent_override: str | None = None,
    progress: ProgressFactory | None = None,
    resume: bool = False,
) -> dict:
    """Run every question, appending each line to results.jsonl; return the final manifest.

    The manifest is written before the first question (status "running") and rewritten at the end
    with the summary, so a folder always says what it is. With `resume`, the questions an earlier
    run of this folder already answered are kept (written back first, so nothing is lost if this run
    is interrupted too) and only the others are asked; the file ends in dataset order.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = answered_rows(out_dir, items) if resume else {}
    manifest = {**manifest, "status": "running", "started_at": datetime.now(UTC).isoformat(),
                "questions": len(items), "judge": judge is not None, "agent_override": agent_override,
                "judge_chain": list(judge.chain) if judge else [],
                "allow_self_judge": bool(judge and judge.allow_self_judge),
                "resumed_with": len(done)}
    write_manifest(out_dir, manifest)
    bar = progress(len(items)) if progress else None
    rows: dict[str, dict] = {}
    with (out_dir / RESULTS_FILE).open("w", encoding="utf-8") as results:
        for row in done.values():
            _write_line(results, row)
        if bar is not None and done:
            bar.update(len(done))
        for item in items:
            if item.id in done:
                continue
            rows[item.id] = evaluate_item(item, graph, judge=judge, guide=guide, agent_override=agent_override)
            _write_line(results, rows[item.id])
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    ordered = [done.get(item.id) or rows[item.id] for item in items]
    if done:
        _rewrite(out_dir / RESULTS_FILE, ordered)
    manifest.update(status="finished", finished_at=datetime.now(UTC).isoformat(), summary=summarise(ordered))
    write_manifest(out_dir, manifest)
    return manifest


def _rewrite(path: Path, rows: list[dict]) -> None:
    """Replace the results file in one step (a crash leaves the old file or the new one, never half)."""
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as results:
        for row in rows:
            _write_line(results, row)
    partial.replace(path)
