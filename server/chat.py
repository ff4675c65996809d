"""Running one chat request through the supervisor, streamed or not.

The supervisor streams three kinds of items: answer tokens (message chunks of models tagged
`relais:answer`), progress (`status` / `sources` custom events) and state values. This module turns
them into the OpenAI chunks and Open WebUI events the client reads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, SystemMessage

import prompts
from graphs.agent import ANSWER_TAG
from graphs.context import Context
from graphs.guarded import guarded_call
from relais.labels import Label
from relais.models.catalog import get_chat_model
from relais.models.tracking import ModelCallLog
from relais.sources import Source
from server.errors import error_body, public_message
from server.schemas import chunk_body, completion_id, openai_usage

logger = logging.getLogger(__name__)

# Open WebUI's own background prompts (title, tags, follow-ups, queries, autocomplete) start so;
# its RAG template does too, but that one wraps a real question and goes to the agents.
TASK_PREFIX = "### Task:"
RAG_TEMPLATE_START = "Respond to the user query using the provided context"


def is_background_task(messages: list[BaseMessage]) -> bool:
    """Whether this request is one of Open WebUI's background task calls, not a user's question."""
    if not messages:
        return False
    text = str(messages[-1].content).lstrip()
    return text.startswith(TASK_PREFIX) and RAG_TEMPLATE_START not in text[:300]


@dataclass
class ChatRun:
    """One request: what goes in, and what the run produced so far."""

    messages: list[BaseMessage]
    requested_agent: Label | None
    request_id: str = field(default_factory=completion_id)
    allowed_agents: list[Label] | None = None
    context: Context = field(default_factory=Context)
    answer: str = ""
    route: dict[str, Any] = field(default_factory=dict)
    sources: list[Source] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    error: str | None = None  # set when the run failed (the client got an error, the audit records it)
    calls: ModelCallLog = field(default_factory=ModelCallLog)
    governance: list[dict[str, Any]] = field(default_factory=list)  # guard decisions, refused tools

    @property
    def config(self) -> dict[str, Any]:
        """The run config: the call log sees every model call, fallbacks included."""
        return {"callbacks": [self.calls]}

    def graph_input(self) -> dict[str, Any]:
        """The supervisor's input for this request."""
        return {
            "messages": self.messages,
            "requested_agent": self.requested_agent,
            "allowed_agents": self.allowed_agents,
        }

    @property
    def latency_ms(self) -> float:
        """Time since the request started."""
        return round((time.perf_counter() - self.started) * 1000, 1)


async def answer_task(run: ChatRun) -> None:
    """Answer an Open WebUI background task with the `fast` role, without running an agent."""
    messages = [SystemMessage(prompts.load("task")), *run.messages]
    to_send, sensitivity = await asyncio.to_thread(guarded_call, "fast", "internal", "redact", messages,
                                                   overrides=run.context.models)
    model = get_chat_model("fast", sensitivity, overrides=run.context.models)
    response = await model.ainvoke(to_send, config=run.config)
    run.answer = str(response.content)
    run.route = {"label": "general", "confidence": 1.0, "method": "task"}
    run.usage = _call_totals(run)


async def run_to_end(graph: Any, run: ChatRun) -> None:
    """Run the supervisor to the end without streaming to the client (the run keeps everything)."""
    async for _ in stream_events(graph, run):
        pass


def _keep_final_state(run: ChatRun, state: dict[str, Any]) -> None:
    final = state["messages"][-1] if state.get("messages") else None
    if isinstance(final, AIMessage):
        run.answer = str(final.text)
    run.route = dict(state.get("route") or {})
    run.sources = list(state.get("sources") or [])
    run.usage = {**dict(state.get("usage") or {}), **_call_totals(run)}


def _call_totals(run: ChatRun) -> dict[str, Any]:
    """Token totals over every model call of the run (router and fallbacks included)."""
    summary = run.calls.summary()
    totals = {"input_tokens": summary["input_tokens"], "output_tokens": summary["output_tokens"]}
    if summary["models"]:
        totals["model"] = ", ".join(summary["models"])
    return totals


async def stream_events(graph: Any, run: ChatRun) -> AsyncIterator[dict[str, Any]]:
    """Relais events as they happen: {"content": str} | {"status": {...}} | {"source": Source}.

    The final answer, route, sources and usage are kept on `run` when the stream ends.
    """
    if is_background_task(run.messages):
        await answer_task(run)
        yield {"content": run.answer}
        return
    streamed: list[str] = []
    final_state: dict[str, Any] = {}
    async for namespace, mode, data in graph.astream(
        run.graph_input(), context=run.context, config=run.config,
        stream_mode=["messages", "custom", "values"], subgraphs=True,
    ):
        if mode == "messages":
            chunk, metadata = data
            if isinstance(chunk, AIMessageChunk) and ANSWER_TAG in (metadata.get("tags") or []) and chunk.content:
                text = str(chunk.text)
                if text:
                    streamed.append(text)
                    yield {"content": text}
        elif mode == "custom":
            for event in _custom_events(run, data):
                yield event
        elif mode == "values" and not namespace:
            final_state = data
    _keep_final_state(run, final_state)
    # An agent that rewrites its draft (citation checks) streams nothing: send its final text.
    if run.answer and run.answer != "".join(streamed):
        yield {"content": run.answer if not streamed else "\n\n" + run.answer}


def _custom_events(run: ChatRun, data: dict[str, Any]) -> list[dict[str, Any]]:
    if data.get("type") in ("guard", "tool_refused"):  # for the audit trail, not for the user's screen
        run.governance.append(data)
        return []
    if data.get("type") == "status":
        return [{"status": {"description": data["description"], "done": bool(data.get("done"))}}]
    if data.get("type") == "sources":
        return [{"source": source} for source in data["sources"]]
    return []


def source_event(source: Source) -> dict[str, Any]:
    """A source as Open WebUI's `source` event expects it (name, url, document, metadata)."""
    name = source["title"]
    info: dict[str, Any] = {"name": name, "id": source.get("url") or name}
    if source.get("url"):
        info["url"] = source["url"]
    metadata = {"source": source.get("url") or name, "name": name, **(source.get("metadata") or {})}
    return {"type": "source", "data": {"source": info, "document": [source["text"]], "metadata": [metadata]}}


async def sse_chunks(graph: Any, run: ChatRun, cid: str, model: str) -> AsyncIterator[str]:
    """The OpenAI SSE stream for one request, ending with usage and `[DONE]`, or an error event."""
    yield _sse(chunk_body(cid, model, {"role": "assistant", "content": ""}))
    try:
        async for event in stream_events(graph, run):
            if "content" in event:
                yield _sse(chunk_body(cid, model, {"content": event["content"]}))
            elif "status" in event:
                yield _sse({**chunk_body(cid, model, {}), "event": {"type": "status", "data": event["status"]}})
            elif "source" in event:
                yield _sse({**chunk_body(cid, model, {}), "event": source_event(event["source"])})
    except Exception as error:  # the client gets an OpenAI-style error event, never a traceback
        logger.exception("streamed request %s failed", cid)
        run.error = f"{type(error).__name__}: {error}"
        yield _sse(error_body(public_message(error), "server_error", "agent_failed"))
        yield "data: [DONE]\n\n"
        return
    yield _sse(chunk_body(cid, model, {}, finish_reason="stop"))
    yield _sse({**chunk_body(cid, model, {}), "choices": [], "usage": openai_usage(run.usage)})
    yield "data: [DONE]\n\n"


def _sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"
