"""Per-user rate limit (429 with Retry-After) and request size limits (413).

The rate limit is a moving window kept by the `limits` library: at most `per_minute` requests per
user in any 60 seconds. With RELAIS_REDIS_URL the counters live in Redis, so a user's quota is the same
whichever replica answers; without it they live in this process's memory (one quota per process).

Why a moving window: a fixed window lets a user send twice the quota within two seconds around a
minute boundary; the moving window never does, for one Redis list entry per request kept a minute
(60 per active user at the default limit). Its timestamps come from each replica's clock: keep the
replicas' clocks synchronised (NTP), as any cluster needs.

When Redis does not answer, the limiter fails open to its in-memory counters: one warning per
outage in the log, every request so counted in the `relais_rate_limit_fallback` counter, and Redis
tried again SHARED_RETRY_S seconds later. Not a 503: the limit shares model capacity fairly, it
guards no data, and refusing every chat while a counter store is down would make Redis a single
point of failure. During an outage a user gets at most `per_minute` per replica.

The body size is enforced by an ASGI middleware (`BodySizeLimit`) that counts bytes as they are read:
a chunked body over the limit is refused after reading at most the limit plus one chunk, never whole.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import JSONResponse
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from prometheus_client import CollectorRegistry, Counter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relais.settings import Settings, get_settings
from server.auth import Identity
from server.errors import ApiError
from server.metrics import get_metrics

logger = logging.getLogger(__name__)

SHARED_RETRY_S = 5.0  # after a Redis failure, count in memory this long before trying Redis again


class RateLimiter:
    """A moving window of `per_minute` requests per key, in Redis when given its URL, else in memory."""

    def __init__(self, per_minute: int, storage_url: str | None = None, *, key_prefix: str = "relais",
                 timeout_s: float = 0.5, clock: Callable[[], float] = time.time) -> None:
        """Build the limiter; nothing connects until the first request.

        Args:
            per_minute: requests a key may make in any 60 seconds.
            storage_url: a Redis URL shared by every replica; None = this process's memory only.
            key_prefix: prefix of the Redis keys (keeps deployments and tests apart on one server).
            timeout_s: how long one Redis call may take before the request is counted in memory.
            clock: wall-clock seconds, the clock of the library's windows (tests pass a fake one).
        """
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self.item = RateLimitItemPerMinute(per_minute)
        self.clock = clock
        self.local = MovingWindowRateLimiter(MemoryStorage())
        self.shared: MovingWindowRateLimiter | None = None
        self.shared_errors: tuple[type[Exception], ...] = ()
        self.shared_where = ""
        if storage_url:
            storage = storage_from_string(storage_url, key_prefix=key_prefix, socket_timeout=timeout_s,
                                          socket_connect_timeout=timeout_s)
            self.shared = MovingWindowRateLimiter(storage)
            errors = storage.base_exceptions
            self.shared_errors = errors if isinstance(errors, tuple) else (errors,)
            self.shared_where = _host_of(storage_url)
        self._shared_down_until: float | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        """The limiter RELAIS_RATE_LIMIT_PER_MINUTE and RELAIS_REDIS_URL describe."""
        url = settings.redis_url.get_secret_value() if settings.redis_url else None
        return cls(settings.rate_limit_per_minute, url, key_prefix=settings.redis_key_prefix,
                   timeout_s=settings.redis_timeout_s)

    @property
    def counting_shared(self) -> bool:
        """Whether requests are counted in Redis right now (False: memory, by choice or during an outage)."""
        return self.shared is not None and self._shared_down_until is None

    def acquire(self, key: str) -> float | None:
        """Take one request for `key`: None when allowed, else the seconds until the window lets one through."""
        if self.shared is None or self._waiting_for_shared():
            return self._take(self.local, key)
        try:
            wait = self._take(self.shared, key)
        except self.shared_errors as error:
            self._shared_failed(error)
            return self._take(self.local, key)
        if self._shared_down_until is not None:
            self._shared_back()
        return wait

    def check(self, key: str) -> None:
        """Take one request for `key`.

        Raises:
            ApiError: 429 with a `Retry-After` header (whole seconds) when the window is full.
        """
        wait = self.acquire(key)
        if wait is None:
            return
        retry_after = max(1, math.ceil(wait))
        raise ApiError(
            429, f"Rate limit reached: {self.per_minute} requests per minute per user; retry in {retry_after} s.",
            error_type="rate_limit_error", code="rate_limit_exceeded", headers={"Retry-After": str(retry_after)},
        )

    def _take(self, limiter: MovingWindowRateLimiter, key: str) -> float | None:
        if limiter.hit(self.item, key):
            return None
        # The window's reset time is when its oldest request leaves it, freeing one place.
        reset_time = limiter.get_window_stats(self.item, key).reset_time
        return max(0.0, reset_time - self.clock())

    def _waiting_for_shared(self) -> bool:
        """Whether Redis failed less than SHARED_RETRY_S ago (then this request is counted in memory)."""
        with self._lock:
            waiting = self._shared_down_until is not None and self.clock() < self._shared_down_until
        if waiting:
            _fallback_counter(get_metrics().registry).inc()
        return waiting

    def _shared_failed(self, error: Exception) -> None:
        with self._lock:
            first = self._shared_down_until is None
            self._shared_down_until = self.clock() + SHARED_RETRY_S
        _fallback_counter(get_metrics().registry).inc()
        if first:
            logger.warning("Redis at %s does not answer (%s: %s): rate limits are counted per replica until it "
                           "does; trying again every %.0f s", self.shared_where, type(error).__name__, error,
                           SHARED_RETRY_S)

    def _shared_back(self) -> None:
        with self._lock:
            self._shared_down_until = None
        logger.warning("Redis at %s answers again: rate limits are shared across replicas", self.shared_where)


def _host_of(url: str) -> str:
    """host:port of a storage URL, for logs: never its password."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.hostname else parts.scheme


@lru_cache(maxsize=4)
def _fallback_counter(registry: CollectorRegistry) -> Counter:
    """The counter of requests limited in memory because Redis was unreachable, in the metrics registry."""
    return Counter("relais_rate_limit_fallback", "Requests rate-limited per replica because Redis did not answer.",
                   registry=registry)


_default_limiter: tuple[object, RateLimiter] | None = None


def get_rate_limiter() -> RateLimiter:
    """The process-wide limiter (RELAIS_RATE_LIMIT_PER_MINUTE, RELAIS_REDIS_URL), renewed with the settings.

    Tied to the settings object so that tests, which reload the settings, never share counters.
    """
    global _default_limiter
    settings = get_settings()
    if _default_limiter is None or _default_limiter[0] is not settings:
        _default_limiter = (settings, RateLimiter.from_settings(settings))
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


SELF_LIMITED_PREFIXES = ("/documents/",)  # routes that read their body under their own limit


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
        # server/documents.py streams an uploaded file to disk under its own, larger limit and names the file
        if scope["type"] != "http" or scope["path"].startswith(SELF_LIMITED_PREFIXES):
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
