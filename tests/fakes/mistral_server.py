"""A real HTTP server on 127.0.0.1 speaking Mistral's chat API (and OpenAI's, for ChatOpenAI).

`POST /v1/chat/completions` answers as langchain-mistralai 1.1.6 and langchain-openai 1.7 expect:
JSON, or SSE `data: {chunk}` ... `data: [DONE]` with usage in the last chunk (Mistral), plus a final
`choices: []` usage chunk when the client asks `stream_options.include_usage` (OpenAI). Tool calls use
9-character ids and JSON-string arguments. `GET /v1/models` lists the models.

    with FakeModelServer() as server:
        server.queue("Bonjour", Reply.tool("search", {"q": "x"}), Reply.structured({"label": "code"}))
        server.fail_next(2, status=429)        # fault injection
        ChatMistralAI(api_key="k", endpoint=server.base_url)
        server.chat_requests                   # every request body that reached it

Replies: a `str`, a `dict` (sent as JSON content), a `Reply`, or a callable(body) -> any of those.
With nothing queued it echoes the last user message.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import string
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

_ALPHANUMERIC = string.ascii_letters + string.digits
_TOKEN = re.compile(r"\s*\S+|\s+")


@dataclass
class Reply:
    """One scripted answer: text content and/or tool calls (`{"name": ..., "args": {...}}`)."""

    content: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    structured: Any = None

    @classmethod
    def tool(cls, name: str, args: dict[str, Any] | None = None, content: str = "") -> Reply:
        """A reply that calls one tool."""
        return cls(content=content, tool_calls=[{"name": name, "args": dict(args or {})}])

    @classmethod
    def structured_output(cls, data: dict[str, Any]) -> Reply:
        """Structured data, sent the way the request asks: a forced tool call or JSON content."""
        return cls(structured=data)


@dataclass
class RecordedRequest:
    """What reached the server: method, path, headers (lower-case) and the JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class _Fault:
    count: int
    status: int | None = None
    hang_s: float = 0.0
    retry_after: str | None = "0"


class FakeModelServer:
    """A threaded uvicorn server; use as a context manager or call `start()` / `stop()`."""

    def __init__(self, *, api_key: str | None = None, models: tuple[str, ...] = ("mistral-small-latest",
                                                                                   "mistral-large-latest",
                                                                                   "codestral-latest")) -> None:
        self.api_key = api_key
        self.models = models
        self.token_latency_ms = 0.0
        self.requests: list[RecordedRequest] = []
        self._replies: list[Any] = []
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- life cycle ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API root including `/v1`, as MISTRAL_BASE_URL / RELAIS_LOCAL_BASE_URL expect."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeModelServer:
        """Bind a free port on 127.0.0.1 and serve in a background thread until `stop()`."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app(), log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake model server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving (hanging requests are cut after one second)."""
        if self._server and self._thread:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting -------------------------------------------------------------------------------

    def queue(self, *replies: Any) -> None:
        """Append replies, used in order by the next chat requests."""
        with self._lock:
            self._replies.extend(replies)

    def fail_next(self, count: int = 1, *, status: int = 500, retry_after: str | None = "0") -> None:
        """The next `count` chat requests answer `status` (429 carries `Retry-After`)."""
        with self._lock:
            self._faults.append(_Fault(count, status=status, retry_after=retry_after))

    def hang_next(self, count: int = 1, *, seconds: float = 30.0) -> None:
        """The next `count` chat requests wait `seconds` before answering (to provoke timeouts)."""
        with self._lock:
            self._faults.append(_Fault(count, hang_s=seconds))

    def reset(self) -> None:
        """Forget replies, faults, latency and recorded requests."""
        with self._lock:
            self._replies.clear()
            self._faults.clear()
            self.requests.clear()
            self.token_latency_ms = 0.0

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of every chat completion request received, in order."""
        return [r.body for r in self.requests if r.path.endswith("/chat/completions")]

    # --- HTTP ------------------------------------------------------------------------------------

    def _app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
        ])

    def _unauthorized(self, request: Request) -> Response | None:
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "Unauthorized", "invalid_api_key")
        return None

    async def _models(self, request: Request) -> Response:
        self.requests.append(RecordedRequest("GET", request.url.path, dict(request.headers), None))
        if denied := self._unauthorized(request):
            return denied
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in self.models]
        return JSONResponse({"object": "list", "data": data})

    async def _chat(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(400, "request body is not JSON", "invalid_request_error")
        self.requests.append(RecordedRequest("POST", request.url.path, dict(request.headers), body))
        if denied := self._unauthorized(request):
            return denied
        fault = self._take_fault()
        if fault and fault.hang_s:
            await asyncio.sleep(fault.hang_s)
        elif fault and fault.status:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return _error(fault.status, f"injected error {fault.status}", "fake_fault", headers)
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return _error(422, "messages: field required", "invalid_request_error")
        message = self._answer(body)
        usage = _usage(body, message)
        if body.get("stream"):
            return StreamingResponse(self._sse(body, message, usage), media_type="text/event-stream")
        return JSONResponse(_completion(body, message, usage))

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.count -= 1
            if fault.count <= 0:
                self._faults.pop(0)
            return fault

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            reply = self._replies.pop(0) if self._replies else _echo(body)
        if callable(reply):
            reply = reply(body)
        return _assistant_message(_as_reply(reply), body)

    async def _sse(self, body: dict[str, Any], message: dict[str, Any], usage: dict[str, int]) -> AsyncIterator[str]:
        chunk_id = f"cmpl-{uuid.uuid4().hex[:24]}"

        def event(delta: dict[str, Any], finish: str | None = None, with_usage: bool = False) -> str:
            chunk: dict[str, Any] = {
                "id": chunk_id, "object": "chat.completion.chunk", "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if with_usage:
                chunk["usage"] = usage
            return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

        openai_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        yield event({"role": "assistant", "content": ""})
        for piece in _TOKEN.findall(message.get("content") or ""):
            await asyncio.sleep(self.token_latency_ms / 1000)
            yield event({"content": piece})
        if message.get("tool_calls"):
            calls = [{**call, "index": index} for index, call in enumerate(message["tool_calls"])]
            yield event({"tool_calls": calls})
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        yield event({}, finish=finish, with_usage=not openai_usage)
        if openai_usage:
            final = {"id": chunk_id, "object": "chat.completion.chunk", "created": int(time.time()),
                     "model": body.get("model", "fake"), "choices": [], "usage": usage}
            yield f"data: {json.dumps(final)}\n\n"
        yield "data: [DONE]\n\n"


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> JSONResponse:
    # Mistral's top-level fields and OpenAI's nested `error`, so both clients read a message.
    payload = {"object": "error", "message": message, "type": kind, "param": None, "code": str(status),
               "error": {"message": message, "type": kind, "param": None, "code": str(status)}}
    return JSONResponse(payload, status_code=status, headers=headers)


def _echo(body: dict[str, Any]) -> str:
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return f"echo: {_text(users[-1].get('content')) if users else ''}"


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def _as_reply(reply: Any) -> Reply:
    if isinstance(reply, Reply):
        return reply
    if isinstance(reply, str):
        return Reply(content=reply)
    if isinstance(reply, dict | list):
        return Reply(content=json.dumps(reply, ensure_ascii=False))
    raise TypeError(f"cannot script a reply of type {type(reply).__name__}")


def _forced_tool(body: dict[str, Any]) -> str | None:
    """The tool name the request forces (Mistral "any", OpenAI "required" or a named function)."""
    tools = body.get("tools") or []
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        return choice.get("function", {}).get("name")
    if choice in ("any", "required") and tools:
        return tools[0]["function"]["name"]
    return None


def _assistant_message(reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
    content, calls = reply.content, list(reply.tool_calls)
    if reply.structured is not None:
        if forced := _forced_tool(body):
            calls = [{"name": forced, "args": reply.structured}]
        else:
            content = json.dumps(reply.structured, ensure_ascii=False)
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [
            {"id": "".join(_ALPHANUMERIC[b % 62] for b in uuid.uuid4().bytes[:9]), "type": "function",
             "function": {"name": call["name"], "arguments": json.dumps(call["args"], ensure_ascii=False)}}
            for call in calls
        ]
    return message


def _usage(body: dict[str, Any], message: dict[str, Any]) -> dict[str, int]:
    prompt = sum(len(_TOKEN.findall(_text(m.get("content")))) + 3 for m in body.get("messages", []))
    completion = max(1, len(_TOKEN.findall(message.get("content") or "")) + 5 * len(message.get("tool_calls", [])))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(body: dict[str, Any], message: dict[str, Any], usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": f"cmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": message,
                     "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
        "usage": usage,
    }


