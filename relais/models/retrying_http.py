"""HTTP clients that retry rate limits and server errors, for providers whose SDK does not.

langchain-mistralai retries only connection errors (httpx.RequestError); a 429 or a 503 from Mistral
goes straight to the caller. These transports retry such answers before any byte reaches the client,
so plain calls and streams are both covered. `Retry-After` is honoured up to a cap.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_WAIT_S = 10.0


def _wait_s(response: httpx.Response, attempt: int) -> float:
    """Seconds to wait before retry `attempt` (0-based): Retry-After if given, else exponential."""
    header = response.headers.get("retry-after")
    if header is not None:
        try:
            return min(MAX_WAIT_S, max(0.0, float(header)))
        except ValueError:
            pass  # an HTTP date: fall back to our own backoff
    return min(MAX_WAIT_S, 0.5 * 2**attempt)


def _should_retry(request: httpx.Request, response: httpx.Response, attempt: int, retries: int) -> bool:
    if response.status_code not in RETRYABLE_STATUSES or attempt >= retries:
        return False
    logger.warning("%s answered %s; retry %d of %d", request.url, response.status_code, attempt + 1, retries)
    return True


class RetryingTransport(httpx.BaseTransport):
    """A synchronous transport that retries 429/5xx answers `retries` times."""

    def __init__(self, retries: int, inner: httpx.BaseTransport | None = None) -> None:
        self._retries = max(0, retries)
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request, again after a pause while the answer is retryable."""
        attempt = 0
        while True:
            response = self._inner.handle_request(request)
            if not _should_retry(request, response, attempt, self._retries):
                return response
            response.read()
            response.close()
            time.sleep(_wait_s(response, attempt))
            attempt += 1

    def close(self) -> None:
        """Close the wrapped transport."""
        self._inner.close()


class AsyncRetryingTransport(httpx.AsyncBaseTransport):
    """The asynchronous twin of `RetryingTransport`."""

    def __init__(self, retries: int, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._retries = max(0, retries)
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request, again after a pause while the answer is retryable."""
        attempt = 0
        while True:
            response = await self._inner.handle_async_request(request)
            if not _should_retry(request, response, attempt, self._retries):
                return response
            await response.aread()
            await response.aclose()
            await asyncio.sleep(_wait_s(response, attempt))
            attempt += 1

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
