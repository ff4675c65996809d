"""A scripted fake chat model for tests (the pattern of langgraph prebuilt's FakeToolCallingModel).

`ScriptedChatModel(responses=[...])` answers each call with the next scripted response:

- a `str` (plain answer),
- an `AIMessage` (e.g. with `tool_calls`; see `tool_call()`),
- a `dict` / `list` / pydantic instance (sent as JSON text: what `with_structured_output` parses),
- a callable `(messages) -> AIMessage | str | dict` (computed from what the model received),
- an `Exception` instance, raised by that call (to exercise retries and fallbacks).

When the script runs out it echoes the last human message (or raises, with `strict=True`), so a test
that does not care about the model's words still runs. Every call's messages are kept in `.calls`,
tools given to `bind_tools` in `.bound_tools`. Streams come out in small chunks, usage on the last one.
`token_latency_ms` makes every token take that long (benchmarks use it as a fixed-latency model).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolCallChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

_TOKEN = re.compile(r"\s*\S+|\s+")


class ScriptExhaustedError(AssertionError):
    """A strict scripted model was called more often than the test planned."""


def tool_call(name: str, args: dict[str, Any] | None = None, *, id: str | None = None, content: str = "") -> AIMessage:  # noqa: A002
    """An AIMessage asking for one tool call (queue several messages for several turns)."""
    call_id = id or f"call_{name}_{abs(hash(json.dumps(args or {}, sort_keys=True, default=str))) % 10**8}"
    return AIMessage(content=content, tool_calls=[{"name": name, "args": dict(args or {}), "id": call_id}])


def split_tokens(text: str) -> list[str]:
    """Cut text into word-sized pieces (leading whitespace kept) that join back to the text."""
    return _TOKEN.findall(text) or ([text] if text else [])


def _count_tokens(messages: Sequence[BaseMessage]) -> int:
    return sum(len(split_tokens(message.text)) for message in messages) + 3 * len(messages)


class ScriptedChatModel(BaseChatModel):
    """A chat model that replies from a script, records its calls and reports token usage."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    responses: list[Any] = Field(default_factory=list)
    model_name: str = "scripted"
    strict: bool = False
    token_latency_ms: float = 0.0
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    call_kwargs: list[dict[str, Any]] = Field(default_factory=list)
    bound_tools: list[dict[str, Any]] = Field(default_factory=list)
    tool_choice: Any = None
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    # --- scripting -----------------------------------------------------------------------------

    def queue(self, *responses: Any) -> ScriptedChatModel:
        """Append responses to the script; returns the model so calls can be chained."""
        with self._lock:
            self.responses.extend(responses)
        return self

    @property
    def last_messages(self) -> list[BaseMessage]:
        """The messages of the most recent call (empty before the first call)."""
        return self.calls[-1] if self.calls else []

    def _next_message(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        with self._lock:
            self.calls.append(list(messages))
            self.call_kwargs.append(dict(kwargs))
            scripted = self.responses.pop(0) if self.responses else _EXHAUSTED
        if scripted is _EXHAUSTED:
            if self.strict:
                raise ScriptExhaustedError(f"{self.model_name}: no scripted response left for call {len(self.calls)}")
            scripted = _echo(messages)
        if callable(scripted) and not isinstance(scripted, BaseModel | BaseMessage):
            scripted = scripted(list(messages))
        if isinstance(scripted, BaseException):
            raise scripted
        message = _as_ai_message(scripted)
        if message.usage_metadata is None:
            output_tokens = max(1, len(split_tokens(message.text)) + 5 * len(message.tool_calls))
            input_tokens = _count_tokens(messages)
            message.usage_metadata = {
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "total_tokens": input_tokens + output_tokens,
            }
        message.response_metadata = {"model_name": self.model_name, "finish_reason": _finish_reason(message),
                                     **message.response_metadata}
        return message

    # --- generation ----------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self._next_message(messages, kwargs)
        time.sleep(self._reply_delay_s(message))
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self._next_message(messages, kwargs)
        await asyncio.sleep(self._reply_delay_s(message))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self._next_message(messages, kwargs)
        for chunk in _chunks(message):
            time.sleep(self.token_latency_ms / 1000)
            if run_manager and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        message = self._next_message(messages, kwargs)
        for chunk in _chunks(message):
            await asyncio.sleep(self.token_latency_ms / 1000)
            if run_manager and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def _reply_delay_s(self, message: AIMessage) -> float:
        return self.token_latency_ms * max(1, len(split_tokens(message.text))) / 1000

    # --- tools and structured output ---------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable:
        """Record the tools (as OpenAI tool schemas) and bind them like a real model would."""
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        self.bound_tools = formatted
        self.tool_choice = tool_choice
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(
        self, schema: dict[str, Any] | type, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable:
        """Parse the scripted reply (JSON text, or the first tool call's arguments) into `schema`."""

        def parse(message: AIMessage) -> Any:
            try:
                parsed = _parse_structured(message, schema)
            except Exception as error:
                if include_raw:
                    return {"raw": message, "parsed": None, "parsing_error": error}
                raise
            return {"raw": message, "parsed": parsed, "parsing_error": None} if include_raw else parsed

        return self.bind(ls_structured_output_format={"schema": schema, "kwargs": {}}) | RunnableLambda(parse)


_EXHAUSTED = object()


def _echo(messages: Sequence[BaseMessage]) -> str:
    human = [message for message in messages if isinstance(message, HumanMessage)]
    return f"echo: {human[-1].text}" if human else "echo"


def _as_ai_message(scripted: Any) -> AIMessage:
    if isinstance(scripted, AIMessage):
        return scripted.model_copy(deep=True)
    if isinstance(scripted, str):
        return AIMessage(content=scripted)
    if isinstance(scripted, BaseModel):
        return AIMessage(content=scripted.model_dump_json())
    if isinstance(scripted, dict | list):
        return AIMessage(content=json.dumps(scripted, ensure_ascii=False))
    raise TypeError(f"cannot script a response of type {type(scripted).__name__}")


def _finish_reason(message: AIMessage) -> str:
    return "tool_calls" if message.tool_calls else "stop"


def _chunks(message: AIMessage) -> Iterator[ChatGenerationChunk]:
    pieces = split_tokens(message.text) or [""]
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        chunk = AIMessageChunk(content=piece, id=message.id)
        if last:
            chunk = AIMessageChunk(
                content=piece,
                id=message.id,
                tool_call_chunks=_tool_call_chunks(message),
                usage_metadata=message.usage_metadata,
                response_metadata=message.response_metadata,
                chunk_position="last",
            )
        yield ChatGenerationChunk(message=chunk)


def _tool_call_chunks(message: AIMessage) -> list[ToolCallChunk]:
    return [
        {"name": call["name"], "args": json.dumps(call["args"]), "id": call["id"], "index": index,
         "type": "tool_call_chunk"}
        for index, call in enumerate(message.tool_calls)
    ]


def _parse_structured(message: AIMessage, schema: dict[str, Any] | type) -> Any:
    data = message.tool_calls[0]["args"] if message.tool_calls else json.loads(message.text)
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_validate(data)
    return data
