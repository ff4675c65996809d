"""Per-user rate limit (429 with Retry-After) and request size limits (413).

The body size is enforced by an ASGI middleware (`BodySizeLimit`) that counts bytes as they are read:
a chunked body over the limit is refused after reading at most the limit plus one chunk, never whole.

The rate limit is a token bucket per user id, in memory: a burst of `per_minute` requests, then
one more every 60/per_minute seconds. It is per process: behind several workers each has its own.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relais.settings import get_settings
from server.auth import Identity
from server.errors import ApiError

MAX_TRACKED_USERS = 10_000  # beyond this, idle (full) buckets are forgotten


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key, thread-safe."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.capacity = float(per_minute)
        self.refill_per_s = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float | None:
        """Take one request for `key`: None when allowed, else the seconds to wait before retrying."""
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_TRACKED_USERS:
                    self._forget_idle(now)
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.refill_per_s)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return (1.0 - bucket.tokens) / self.refill_per_s

    def check(self, key: str) -> None:
        """Take one request for `key`.

        Raises:
            ApiError: 429 with a `Retry-After` header (whole seconds) when the bucket is empty.
        """
        wait = self.acquire(key)
        if wait is None:
            return
        retry_after = max(1, math.ceil(wait))
        per_minute = int(self.capacity)
        raise ApiError(
            429, f"Rate limit reached: {per_minute} requests per minute per user; retry in {retry_after} s.",
            error_type="rate_limit_error", code="rate_limit_exceeded", headers={"Retry-After": str(retry_after)},
        )

    def _forget_idle(self, now: float) -> None:
        idle = [key for key, bucket in self._buckets.items()
                if bucket.tokens + (now - bucket.updated) * self.refill_per_s >= self.capacity]
        for key in idle:
            del self._buckets[key]


_default_limiter: tuple[object, RateLimiter] | None = None


def get_rate_limiter() -> RateLimiter:
    """The process-wide limiter sized by RELAIS_RATE_LIMIT_PER_MINUTE, renewed with the settings.

    Tied to the settings object so that tests, which reload the settings, never share buckets.
    """
    global _default_limiter
    settings = get_settings()
    if _default_limiter is None or _default_limiter[0] is not settings:
        _default_limiter = (settings, RateLimiter(settings.rate_limit_per_minute))
    return _default_limiter[1]


def enforce_rate_limit(request: Request, identity: Identity) -> None:
    """Count one request for the identity; `request.app.state.rate_limiter` wins over the default.

    Raises:
        ApiError: 429 when the user is over the limit.
    """
    limiter = getattr(request.app.state, "rate_limiter", None) or get_rate_limiter()
    limiter.check(identity.user_id)


def too_large(message: str, code: str) -> ApiError:
    """A 413 in the OpenAI shape."""
    return ApiError(413, message, error_type="invalid_request_error", code=code)


async def limit_body_size(request: Request) -> None:
    """FastAPI dependency: refuse a declared Content-Length larger than RELAIS_MAX_BODY_BYTES.

    FastAPI reads a route's body before it runs its dependencies, so this only catches a body the route
    reads itself; `BodySizeLimit`, the middleware, is what stops reading any body at the limit.

    Raises:
        ApiError: 413 naming the limit.
    """
    limit = get_settings().max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise body_too_large(int(declared), limit)


class BodyTooLarge(ApiError):
    """A 413 for a request body over RELAIS_MAX_BODY_BYTES; the connection is closed after it."""


def body_too_large(size: int, limit: int, *, declared: bool = True) -> BodyTooLarge:
    """The 413 for a body over the limit (`declared`: its Content-Length said so; else: read this far)."""
    message = (f"Request body of {size} bytes exceeds the limit of {limit} bytes." if declared else
               f"Request body sent without a length exceeds the limit of {limit} bytes (refused after {size} bytes).")
    # Connection: close: the server drops the rest of the body instead of reading it to throw it away.
    return BodyTooLarge(413, message, error_type="invalid_request_error", code="request_too_large",
                        headers={"Connection": "close"})


class BodySizeLimit:
    """ASGI middleware: a request body never costs more than RELAIS_MAX_BODY_BYTES of memory.

    A declared Content-Length over the limit is refused before a byte is read. A body sent without
    one (Transfer-Encoding: chunked) is counted as the application reads it: the read that crosses the
    limit raises the 413 instead of handing the data on, and nothing more is read.
    """

    def __init__(self, app: ASGIApp, max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count what the application reads."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes or get_settings().max_body_bytes
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _answer(body_too_large(int(declared), limit), scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise body_too_large(received, limit, declared=False)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge as error:  # raised by counted_receive where no exception handler answered it
            if started:
                raise
            await _answer(error, scope, receive, send)


async def _answer(error: ApiError, scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse(error.to_openai(), status_code=error.status_code, headers=error.headers)
    await response(scope, receive, send)


def _content_chars(content: object) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return len(content)
    if isinstance(content, Iterable) and not isinstance(content, bytes | Mapping):
        return sum(_content_chars(_part_text(part)) for part in content)
    return len(str(content))


def _part_text(part: object) -> object:
    if isinstance(part, Mapping):
        return part.get("text")
    return getattr(part, "text", part if isinstance(part, str) else None)


def check_message_sizes(messages: Iterable[object], max_chars: int | None = None) -> None:
    """Refuse any chat message whose text is longer than RELAIS_MAX_MESSAGE_CHARS.

    Args:
        messages: OpenAI chat messages, as dicts or objects with a `content` (string or list of parts).
        max_chars: the limit; the setting when None.

    Raises:
        ApiError: 413 naming the message and the limit.
    """
    limit = get_settings().max_message_chars if max_chars is None else max_chars
    for index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, Mapping) else getattr(message, "content", None)
        size = _content_chars(content)
        if size > limit:
            raise too_large(f"Message {index} has {size} characters; the limit is {limit}. "
                            "Shorten it or split the document.", "message_too_long")
