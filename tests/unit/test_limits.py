"""Rate limit (429 + Retry-After) and size limits (413)."""

from __future__ import annotations

import logging
import socket
from types import SimpleNamespace
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import ValidationError

from relais.settings import get_settings
from server.auth import Identity, authenticate
from server.errors import ApiError
from server.limits import (
    SHARED_RETRY_S,
    BodySizeLimit,
    RateLimiter,
    check_message_sizes,
    enforce_rate_limit,
    limit_body_size,
)
from server.metrics import get_metrics

LOOPBACK = ("127.0.0.1", 50000)


class FakeClock:
    """Wall-clock seconds that only move when a test says so."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # epoch seconds, a whole minute

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    """One fake clock for the limiter and for the `limits` memory storage's windows."""
    fake = FakeClock()
    monkeypatch.setattr("limits.storage.memory.time", SimpleNamespace(time=fake))
    return fake


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def fallback_count() -> float:
    return get_metrics().registry.get_sample_value("relais_rate_limit_fallback_total") or 0.0


def test_a_user_gets_per_minute_requests_then_waits_for_the_oldest_to_leave_the_window(clock):
    limiter = RateLimiter(3, clock=clock)
    for _ in range(3):
        assert limiter.acquire("alice") is None
        clock.now += 10.0
    assert limiter.acquire("alice") == pytest.approx(30.0)  # the first request leaves the window at +60 s
    clock.now += 29.0
    assert limiter.acquire("alice") == pytest.approx(1.0)
    clock.now += 1.5
    assert limiter.acquire("alice") is None
    assert limiter.acquire("alice") == pytest.approx(9.5)  # now the second one (at +10 s) must leave


def test_no_double_quota_around_a_minute_boundary(clock):
    # What a fixed window would allow: 3 requests at :59.5 and 3 more at :00.5.
    limiter = RateLimiter(3, clock=clock)
    clock.now += 59.5
    assert [limiter.acquire("alice") for _ in range(3)] == [None, None, None]
    clock.now += 1.0
    assert limiter.acquire("alice") == pytest.approx(59.0)


def test_users_have_separate_windows(clock):
    limiter = RateLimiter(1, clock=clock)
    assert limiter.acquire("alice") is None
    assert limiter.acquire("alice") is not None
    assert limiter.acquire("bob") is None


def test_check_raises_429_with_retry_after_in_whole_seconds(clock):
    limiter = RateLimiter(2, clock=clock)
    limiter.check("alice")
    limiter.check("alice")
    clock.now += 0.5
    with pytest.raises(ApiError) as caught:
        limiter.check("alice")
    error = caught.value
    assert error.status_code == 429
    assert error.headers == {"Retry-After": "60"}  # 59.5 s rounded up
    assert error.to_openai()["error"]["code"] == "rate_limit_exceeded"
    assert "2 requests per minute" in error.message


def test_without_redis_the_limiter_counts_in_memory():
    limiter = RateLimiter(5)
    assert limiter.shared is None and not limiter.counting_shared


def test_a_redis_url_that_is_not_redis_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("RELAIS_REDIS_URL", "http://127.0.0.1:6379")
    get_settings.cache_clear()
    with pytest.raises(ValidationError, match="RELAIS_REDIS_URL must start with one of redis://"):
        get_settings()


def test_when_redis_is_down_the_limit_holds_per_process_with_one_warning_and_a_metric(clock, caplog):
    limiter = RateLimiter(2, f"redis://:secret-password@127.0.0.1:{closed_port()}/0", key_prefix="t", clock=clock)
    before = fallback_count()
    with caplog.at_level(logging.WARNING, logger="server.limits"):
        assert [limiter.acquire("alice") for _ in range(2)] == [None, None]
        assert limiter.acquire("alice") == pytest.approx(60.0)
    assert not limiter.counting_shared
    assert fallback_count() - before == 3
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1 and "does not answer" in warnings[0] and "per replica" in warnings[0]
    assert "secret-password" not in warnings[0] and "127.0.0.1:" in warnings[0]


def test_when_redis_is_down_it_is_tried_again_after_a_pause(clock, monkeypatch):
    limiter = RateLimiter(5, f"redis://127.0.0.1:{closed_port()}/0", clock=clock)
    attempts = []
    real_hit = limiter.shared.hit

    def counted_hit(*args, **kwargs):
        attempts.append(clock.now)
        return real_hit(*args, **kwargs)

    monkeypatch.setattr(limiter.shared, "hit", counted_hit)
    limiter.acquire("alice")
    clock.now += SHARED_RETRY_S / 2
    limiter.acquire("alice")  # within the pause: memory only, no time lost on a dead server
    assert len(attempts) == 1
    clock.now += SHARED_RETRY_S
    assert limiter.acquire("alice") is None
    assert len(attempts) == 2


def tiny_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(BodySizeLimit)

    @app.exception_handler(ApiError)
    async def openai_error(_request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(error.to_openai(), status_code=error.status_code, headers=error.headers)

    @app.post("/chat", dependencies=[Depends(limit_body_size)])
    async def chat(request: Request, identity: Annotated[Identity, Depends(authenticate)]) -> dict:
        enforce_rate_limit(request, identity)
        body = await request.json()
        check_message_sizes(body["messages"])
        return {"ok": True}

    return app


def test_the_app_answers_429_once_the_user_is_over_the_limit(clock):
    app = tiny_app()
    app.state.rate_limiter = RateLimiter(2, clock=clock)
    client = TestClient(app, client=LOOPBACK)
    payload = {"messages": [{"role": "user", "content": "bonjour"}]}
    assert [client.post("/chat", json=payload).status_code for _ in range(2)] == [200, 200]
    refused = client.post("/chat", json=payload)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert refused.json()["error"]["type"] == "rate_limit_error"


def test_the_app_answers_429_not_500_when_redis_is_down(monkeypatch):
    monkeypatch.setenv("RELAIS_RATE_LIMIT_PER_MINUTE", "2")
    monkeypatch.setenv("RELAIS_REDIS_URL", f"redis://127.0.0.1:{closed_port()}/0")
    get_settings.cache_clear()
    client = TestClient(tiny_app(), client=LOOPBACK)
    payload = {"messages": [{"role": "user", "content": "x"}]}
    assert [client.post("/chat", json=payload).status_code for _ in range(3)] == [200, 200, 429]


def test_the_setting_sizes_the_default_limiter(monkeypatch):
    monkeypatch.setenv("RELAIS_RATE_LIMIT_PER_MINUTE", "1")
    get_settings.cache_clear()
    client = TestClient(tiny_app(), client=LOOPBACK)
    payload = {"messages": [{"role": "user", "content": "x"}]}
    assert client.post("/chat", json=payload).status_code == 200
    assert client.post("/chat", json=payload).status_code == 429


def test_a_body_over_the_byte_limit_is_refused_with_413(monkeypatch):
    monkeypatch.setenv("RELAIS_MAX_BODY_BYTES", "200")
    get_settings.cache_clear()
    client = TestClient(tiny_app(), client=LOOPBACK)
    assert client.post("/chat", json={"messages": [{"role": "user", "content": "x" * 50}]}).status_code == 200
    response = client.post("/chat", json={"messages": [{"role": "user", "content": "x" * 300}]})
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "request_too_large" and "200 bytes" in error["message"]


def test_a_chunked_body_without_length_is_measured(monkeypatch):
    monkeypatch.setenv("RELAIS_MAX_BODY_BYTES", "200")
    get_settings.cache_clear()
    client = TestClient(tiny_app(), client=LOOPBACK)

    def chunks():
        yield b'{"messages": [{"role": "user", "content": "'
        yield b"y" * 400
        yield b'"}]}'

    response = client.post("/chat", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_the_middleware_answers_413_itself_when_no_handler_does(monkeypatch):
    """A bare ASGI app reading past the limit: the middleware answers 413 OpenAI-style itself."""
    monkeypatch.setenv("RELAIS_MAX_BODY_BYTES", "100")
    get_settings.cache_clear()
    pulled = []

    async def bare(scope, receive, send):
        while True:
            message = await receive()
            pulled.append(len(message.get("body", b"")))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read"})

    client = TestClient(BodySizeLimit(bare), client=LOOPBACK)
    response = client.post("/", content=iter([b"a" * 60, b"b" * 60, b"c" * 60]))
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"
    assert sum(pulled) <= 60  # the read that crossed the limit was never handed to the app


def test_a_message_over_the_character_limit_is_refused_with_413(monkeypatch):
    monkeypatch.setenv("RELAIS_MAX_MESSAGE_CHARS", "100")
    get_settings.cache_clear()
    client = TestClient(tiny_app(), client=LOOPBACK)
    ok = {"messages": [{"role": "user", "content": "é" * 100}]}
    assert client.post("/chat", json=ok).status_code == 200
    parts = [{"type": "text", "text": "a" * 60}, {"type": "text", "text": "b" * 60}]
    response = client.post("/chat", json={"messages": [{"role": "system", "content": "s"},
                                                         {"role": "user", "content": parts}]})
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "message_too_long" and "Message 1 has 120 characters" in error["message"]


def test_message_sizes_accept_objects_with_content():
    class Message:
        def __init__(self, content):
            self.content = content

    check_message_sizes([Message("abc"), Message(None)], max_chars=3)
    with pytest.raises(ApiError):
        check_message_sizes([Message("abcd")], max_chars=3)
