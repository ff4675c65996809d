"""The retrying transports on their own: which answers are retried, how long they wait, what comes back."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from relais.models.retrying_http import MAX_WAIT_S, AsyncRetryingTransport, RetryingTransport


class Answers:
    """A scripted server: each request gets the next (status, headers) pair; the last one repeats."""

    def __init__(self, *answers: tuple[int, dict[str, str]]) -> None:
        self.answers = list(answers)
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        status, headers = self.answers[min(self.requests, len(self.answers) - 1)]
        self.requests += 1
        return httpx.Response(status, headers=headers, json={"n": self.requests})


def _sync_client(answers: Answers, retries: int, waits: list[float]) -> httpx.Client:
    transport = RetryingTransport(retries, inner=httpx.MockTransport(answers), sleep=waits.append)
    return httpx.Client(transport=transport, base_url="http://mistral.test")


def test_retry_after_is_honoured_then_the_answer_comes_back():
    answers, waits = Answers((429, {"Retry-After": "3"}), (503, {"Retry-After": "0.25"}), (200, {})), []
    response = _sync_client(answers, 2, waits).get("/v1/chat")
    assert response.status_code == 200 and response.json() == {"n": 3}
    assert waits == [3.0, 0.25]


def test_retry_after_is_capped_and_dates_fall_back_to_exponential_backoff():
    answers = Answers((503, {"Retry-After": "3600"}), (503, {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}),
                      (503, {}), (200, {}))
    waits: list[float] = []
    assert _sync_client(answers, 3, waits).get("/").status_code == 200
    assert waits == [MAX_WAIT_S, 1.0, 2.0]  # attempts 2 and 3 back off 0.5 * 2**n


def test_spent_retries_return_the_last_answer():
    answers, waits = Answers((500, {})), []
    response = _sync_client(answers, 2, waits).get("/")
    assert response.status_code == 500 and response.json() == {"n": 3}
    assert answers.requests == 3 and len(waits) == 2


@pytest.mark.parametrize("status", [200, 400, 401, 404, 422])
def test_other_statuses_are_not_retried(status):
    answers, waits = Answers((status, {})), []
    assert _sync_client(answers, 3, waits).get("/").status_code == status
    assert answers.requests == 1 and waits == []


def test_async_transport_retries_with_retry_after():
    answers, waits = Answers((429, {"Retry-After": "1.5"}), (200, {})), []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def call() -> httpx.Response:
        transport = AsyncRetryingTransport(2, inner=httpx.MockTransport(answers), sleep=sleep)
        async with httpx.AsyncClient(transport=transport, base_url="http://mistral.test") as client:
            return await client.get("/")

    response = asyncio.run(call())
    assert response.status_code == 200 and answers.requests == 2 and waits == [1.5]
