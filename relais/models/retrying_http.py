"""HTTP clients that retry rate limits and server errors, for providers whose SDK does not.

langchain-mistralai retries only connection errors (httpx.RequestError); a 429 or a 503 from Mistral
goes straight to the caller. These transports retry such answers before any byte reaches the client,
so plain calls and streams are both covered. tenacity runs the loop; `Retry-After` is honoured up to
a cap, else the wait grows exponentially.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_result, stop_after_attempt, wait_exponential

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_WAIT_S = 10.0

_backoff = wait_exponential(multiplier=0.5, max=MAX_WAIT_S)  # 0.5 s, 1 s, 2 s... as before


def _is_retryable(response: httpx.Response) -> bool:
    return response.status_code in RETRYABLE_STATUSES


def _retry_after_or_backoff(state: RetryCallState) -> float:
    """Seconds to wait before the next attempt: Retry-After in seconds if given, else exponential."""
    response: httpx.Response = state.outcome.result()  # type: ignore[union-attr]
    header = response.headers.get("retry-after")
    if header is not None:
        try:
            return min(MAX_WAIT_S, max(0.0, float(header)))
        except ValueError:
            pass  # an HTTP date: fall back to our own backoff
    return _backoff(state)


def _last_response(state: RetryCallState) -> httpx.Response:
    """Once the retries are spent, the caller gets the last answer (its SDK raises on the status)."""
    return state.outcome.result()  # type: ignore[union-attr]


def _log_retry(state: RetryCallState, retries: int) -> None:
    request: httpx.Request = state.args[0]  # a transport's answer carries no request yet
    response: httpx.Response = state.outcome.result()  # type: ignore[union-attr]
    logger.warning("%s answered %s; retry %d of %d", request.url, response.status_code,
                   state.attempt_number, retries)


def _policy(retries: int) -> dict[str, Any]:
    """The tenacity arguments shared by the sync and async transports."""
    return {
        "retry": retry_if_result(_is_retryable),
        "stop": stop_after_attempt(retries + 1),
        "wait": _retry_after_or_backoff,
        "retry_error_callback": _last_response,
    }


class RetryingTransport(httpx.BaseTransport):
    """A synchronous transport that retries 429/5xx answers `retries` times."""

    def __init__(self, retries: int, inner: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._retries = max(0, retries)
        self._inner = inner or httpx.HTTPTransport()
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request, again after a pause while the answer is retryable."""
        retrying = Retrying(**_policy(self._retries), sleep=self._sleep, before_sleep=self._discard)
        return retrying(self._inner.handle_request, request)

    def _discard(self, state: RetryCallState) -> None:
        """Free the connection of an answer that will be retried."""
        _log_retry(state, self._retries)
        response: httpx.Response = state.outcome.result()  # type: ignore[union-attr]
        response.read()
        response.close()

    def close(self) -> None:
        """Close the wrapped transport."""
        self._inner.close()


class AsyncRetryingTransport(httpx.AsyncBaseTransport):
    """The asynchronous twin of `RetryingTransport`."""

    def __init__(self, retries: int, inner: httpx.AsyncBaseTransport | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._retries = max(0, retries)
        self._inner = inner or httpx.AsyncHTTPTransport()
        self._sleep = sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request, again after a pause while the answer is retryable."""
        retrying = AsyncRetrying(**_policy(self._retries), sleep=self._sleep, before_sleep=self._discard)
        return await retrying(self._inner.handle_async_request, request)

    async def _discard(self, state: RetryCallState) -> None:
        """Free the connection of an answer that will be retried."""
        _log_retry(state, self._retries)
        response: httpx.Response = state.outcome.result()  # type: ignore[union-attr]
        await response.aread()
        await response.aclose()

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()


def retrying_clients(
    base_url: str, headers: dict[str, str], timeout_s: float, retries: int
) -> tuple[httpx.Client, httpx.AsyncClient]:
    """A sync and an async client sharing the base URL, headers, timeout and retry policy."""
    common: dict[str, Any] = {"base_url": base_url, "headers": headers, "timeout": timeout_s}
    return (
        httpx.Client(transport=RetryingTransport(retries), **common),
        httpx.AsyncClient(transport=AsyncRetryingTransport(retries), **common),
    )
