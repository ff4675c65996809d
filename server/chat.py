"""Running one chat request through the supervisor, streamed or not.

The supervisor streams three kinds of items: answer tokens (message chunks of models tagged
`relais:answer`), progress (`status` / `sources` custom events) and state values. This module turns
them into the OpenAI chunks and Open WebUI events the client reads.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command
from sse_starlette import ServerSentEvent

import prompts
from agents import get_spec
from relais.context import Context
from relais.guard import GuardPolicy
from relais.labels import Label
from relais.models.catalog import Sensitivity, get_chat_model, resolve_chain
from relais.models.tracking import ModelCallLog
from relais.publish import ANSWER_TAG
from relais.sources import Source
from relais.state import last_user_text
from server.errors import ApiError, error_body, public_message
from server.schemas import chunk_body, completion_id, openai_usage
from server.tasks import answer_without_model
from server.threads import ChatThread, TurnStart, pending_question, plan_turn

logger = logging.getLogger(__name__)

# Open WebUI says which background task a call is (title, tags, follow-ups...) in a connection header
# templated with {{TASK}}: empty for a user's own message. Without that header, its task prompts are
# recognised by how they start; its RAG template starts so too, but wraps a real question.
TASK_HEADER = "X-Relais-Task"
TASK_PREFIX = "### Task:"
RAG_TEMPLATE_START = "Respond to the user query using the provided context"

# sse-starlette frames the events; "\n" line ends keep the bytes OpenAI sends (its default is "\r\n").
# The response stays a plain StreamingResponse (server/app.py): EventSourceResponse would add a ping
# comment every 15 s and its own shutdown watcher around `audited_stream`, which nothing here needs.
SSE_LINE_END = "\n"
SSE_DONE = ServerSentEvent(data="[DONE]", sep=SSE_LINE_END).encode()  # the last event of an OpenAI stream


def is_background_task(messages: list[BaseMessage], task_header: str | None = None) -> bool:
    """Whether this request is one of Open WebUI's background task calls, not a user's question.

    The `X-Relais-Task` header decides when Open WebUI sends it; the text prefix is only a fallback.
    Either way a task is answered with the sensitivity of the model it was sent to, so calling
    something a task never widens where a user's text may go.
    """
    if task_header is not None:
        return bool(task_header.strip())
    if not messages:
        return False
    text = str(messages[-1].content).lstrip()
    return text.startswith(TASK_PREFIX) and RAG_TEMPLATE_START not in text[:300]


def require_question(messages: list[BaseMessage]) -> None:
    """Refuse a conversation in which nobody asks anything (400), before any agent runs.

    Raises:
        ApiError: no user message, or the last one is empty.
    """
    if not any(message.type == "human" for message in messages):
        raise ApiError(400, "'messages' must contain a user message", error_type="invalid_request_error",
                       code="no_user_message")
    if not last_user_text(messages).strip():
        raise ApiError(400, "the last user message is empty: write a question or a request",
                       error_type="invalid_request_error", code="empty_user_message")


@dataclass
class ChatRun:
    """One request: what goes in, and what the run produced so far."""

    messages: list[BaseMessage]
    context: Context = field(default_factory=Context)  # who asks, which agents they may use, model overrides
    request_id: str = field(default_factory=completion_id)
    answer: str = ""
    route: dict[str, Any] = field(default_factory=dict)
    sources: list[Source] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    error: str | None = None  # set when the run failed (the client got an error, the audit records it)
    calls: ModelCallLog = field(default_factory=ModelCallLog)
    task: bool = False  # one of Open WebUI's background calls (title, tags, follow-ups)
    task_kind: str = ""  # which one ({{TASK}}: title_generation, tags_generation...), when known
    thread: ChatThread | None = None  # the chat's thread (None: stateless, as a temporary chat)
    turn: TurnStart | None = None  # where the turn starts on the thread, once planned

    @property
    def requested_agent(self) -> Label | None:
        """The agent the caller picked (None: the supervisor routes)."""
        return self.context.requested_agent

    @property
    def governance(self) -> list[dict[str, Any]]:
        """Guard decisions and refused tools of the run (`relais.events.emit_governance`), for the audit trail."""
        return list(self.calls.governance)

    @property
    def config(self) -> RunnableConfig:
        """The run config: the call log sees every model call; a thread's run names its checkpoint."""
        config: RunnableConfig = {"callbacks": [self.calls]}
        if self.thread is not None and self.turn is not None:
            config["configurable"] = dict(self.turn.configurable)
            config["metadata"] = self.thread.metadata  # copied into the checkpoints, for branching and admins
        return config

    def graph_input(self) -> dict[str, Any] | Command:
        """The supervisor's input: the conversation, what the turn adds to its thread, or a resume.

        A turn that answers a paused agent resumes it with the user's text (`Command(resume=…)`,
        relais/approval.py). The permissions travel in `context`, never in the input, so no checkpoint holds them.
        """
        if self.turn is not None and self.turn.resume:
            return Command(resume=last_user_text(self.turn.messages))
        return {"messages": self.turn.messages if self.turn is not None else self.messages}

    @property
    def latency_ms(self) -> float:
        """Time since the request started."""
        return round((time.perf_counter() - self.started) * 1000, 1)


def task_sensitivity(requested_agent: Label | None) -> tuple[Sensitivity, GuardPolicy]:
    """Where a background task's text may go: as far as the chat's own model lets it, no further.

    A task carries the chat's history, so it inherits the sensitivity and guard policy of the agent
    the chat was sent to. `relais-auto` may have dispatched any earlier turn to a confidential agent:
    its tasks stay on local models.
    """
    if requested_agent is None:
        return "confidential", "local"
    spec = get_spec(requested_agent)
    return spec.sensitivity, spec.guard


async def answer_task(run: ChatRun) -> None:
    """Answer an Open WebUI background task with the `fast` role, without running an agent.

    On the embedded model the tasks that need none are answered from the conversation (server/tasks.py),
    so they never queue ahead of, or inside, a user's answer.
    """
    sensitivity, guard = task_sensitivity(run.requested_agent)
    run.route = {"label": "general", "confidence": 1.0, "method": "task"}
    if resolve_chain("fast", sensitivity, run.context.models)[0].provider == "embedded":
        answer = answer_without_model(run.task_kind, last_user_text(run.messages))
        if answer is not None:
            run.answer, run.route["method"] = answer, "task-without-model"
            return
    model = get_chat_model("fast", sensitivity, guard=guard, overrides=run.context.models)
    response = await model.ainvoke([SystemMessage(prompts.load("task")), *run.messages], config=run.config)
    run.answer = str(response.content)
    run.usage = _call_totals(run)


async def run_to_end(graph: Any, run: ChatRun) -> None:
    """Run the supervisor to the end without streaming to the client (the run keeps everything)."""
    async for _ in stream_events(graph, run):
        pass


def keep_final_state(run: ChatRun, state: dict[str, Any]) -> None:
    """Keep the answer, route, sources and usage of the run's final state on `run`."""
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
    if run.task:
        await answer_task(run)
        yield {"content": run.answer}
        return
    if run.thread is not None:
        run.turn = await plan_turn(graph, run.thread, run.messages)
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
            for event in _custom_events(data):
                yield event
        elif mode == "values" and not namespace:
            final_state = data
    keep_final_state(run, final_state)
    if run.thread is not None:
        await _show_pause(graph, run)
    # An agent that rewrites its draft (citation checks) streams nothing: send its final text.
    if run.answer and run.answer != "".join(streamed):
        yield {"content": run.answer if not streamed else "\n\n" + run.answer}


async def _show_pause(graph: Any, run: ChatRun) -> None:
    """A run that paused for the user's approval answers with what it showed (draft and choices)."""
    assert run.thread is not None
    state = await graph.aget_state({"configurable": {"thread_id": run.thread.thread_id}})
    shown = pending_question(state)
    if shown is not None:
        run.answer = shown


def _custom_events(data: dict[str, Any]) -> list[dict[str, Any]]:
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
    # Open WebUI merges the documents whose metadata "source" match into one chip: a passage's own "source"
    # (the guide's file name, the same for every passage) must not override its unique name or url.
    metadata = {**(source.get("metadata") or {}), "source": source.get("url") or name, "name": name}
    return {"type": "source", "data": {"source": info, "document": [source["text"]], "metadata": [metadata]}}


async def sse_chunks(graph: Any, run: ChatRun, cid: str, model: str) -> AsyncGenerator[bytes, None]:
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
        yield SSE_DONE
        return
    yield _sse(chunk_body(cid, model, {}, finish_reason="stop"))
    yield _sse({**chunk_body(cid, model, {}), "choices": [], "usage": openai_usage(run.usage)})
    yield SSE_DONE


def _sse(payload: dict[str, Any]) -> bytes:
    return ServerSentEvent(data=json.dumps(payload, ensure_ascii=False), sep=SSE_LINE_END).encode()
