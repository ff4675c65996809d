"""Rate limit (429 + Retry-After) and size limits (413)."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from relais.settings import get_settings
from server.auth import Identity, authenticate
from server.errors import ApiError
from server.limits import BodySizeLimit, RateLimiter, check_message_sizes, enforce_rate_limit, limit_body_size

LOOPBACK = ("127.0.0.1", 50000)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_user_gets_a_burst_of_per_minute_requests_then_waits():
    clock = FakeClock()
    limiter = RateLimiter(3, clock=clock)
    assert [limiter.acquire("alice") for _ in range(3)] == [None, None, None]
    assert limiter.acquire("alice") == pytest.approx(20.0)
    clock.now += 19.0
    assert limiter.acquire("alice") == pytest.approx(1.0)
    clock.now += 1.0
    assert limiter.acquire("alice") is None


def test_users_have_separate_buckets():
    limiter = RateLimiter(1, clock=FakeClock())
    assert limiter.acquire("alice") is None
    assert limiter.acquire("alice") is not None
    assert limiter.acquire("bob") is None


def test_check_raises_429_with_retry_after_in_whole_seconds():
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock)
    limiter.check("alice")
    limiter.check("alice")
    clock.now += 0.5
    with pytest.raises(ApiError) as caught:
        limiter.check("alice")
    error = caught.value
    assert error.status_code == 429
    assert error.headers == {"Retry-After": "30"}  # 29.5 s rounded up
    assert error.to_openai()["error"]["code"] == "rate_limit_exceeded"
    assert "2 requests per minute" in error.message


def test_idle_users_are_forgotten_when_many_are_tracked(monkeypatch):
    monkeypatch.setattr("server.limits.MAX_TRACKED_USERS", 3)
    clock = FakeClock()
    limiter = RateLimiter(60, clock=clock)
    for user in ("a", "b", "c"):
        limiter.acquire(user)
    clock.now += 5.0  # buckets refilled
    limiter.acquire("d")
    assert set(limiter._buckets) == {"d"}


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


def test_the_app_answers_429_once_the_user_is_over_the_limit():
    app = tiny_app()
    app.state.rate_limiter = RateLimiter(2, clock=FakeClock())
    client = TestClient(app, client=LOOPBACK)
    payload = {"messages": [{"role": "user", "content": "bonjour"}]}
    assert [client.post("/chat", json=payload).status_code for _ in range(2)] == [200, 200]
    refused = client.post("/chat", json=payload)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "30"
    assert refused.json()["error"]["type"] == "rate_limit_error"


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
