"""A chunked request body is read only up to RELAIS_MAX_BODY_BYTES, through a real uvicorn server."""

from __future__ import annotations

import json

import httpx
import pytest

from relais.settings import get_settings
from server.app import create_app
from tests.fakes.serving import ThreadedServer

pytestmark = pytest.mark.integration

LIMIT = 200_000
CHUNK = 64 * 1024
CHUNKS = 1024  # 64 MiB offered: more than the loopback socket buffers can swallow (about 5 MiB seen)


class ReadCounter:
    """ASGI wrapper around the Relais app: counts the body bytes the app actually pulled from the server."""

    def __init__(self, app) -> None:
        self.app = app
        self.read = 0

    async def __call__(self, scope, receive, send) -> None:
        async def counted():
            message = await receive()
            if message["type"] == "http.request":
                self.read += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@pytest.fixture
def served(monkeypatch, scripted_models):
    monkeypatch.setenv("RELAIS_MAX_BODY_BYTES", str(LIMIT))
    get_settings.cache_clear()
    counter = ReadCounter(create_app())
    with ThreadedServer(counter, start_timeout_s=10) as server:
        yield server.url, counter


class Offered:
    """A request body as a generator (so httpx sends it chunked), counting what the client handed over."""

    def __init__(self, filler: int) -> None:
        self.filler = filler
        self.sent = 0

    def __iter__(self):
        head = b'{"model": "relais-general", "messages": [{"role": "user", "content": "'
        for piece in (head, *(b"y" * CHUNK for _ in range(self.filler)), b'"}]}'):
            self.sent += len(piece)
            yield piece


def test_a_chunked_body_over_the_limit_is_refused_without_being_read_whole(served):
    url, counter = served
    body = Offered(CHUNKS)
    response = httpx.post(f"{url}/v1/chat/completions", content=iter(body),
                          headers={"Content-Type": "application/json"}, timeout=30)
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "request_too_large" and error["type"] == "invalid_request_error"
    assert f"{LIMIT} bytes" in error["message"]
    # The application stopped at the limit (plus what the server had buffered: at most a few chunks) ...
    assert counter.read <= LIMIT + 4 * CHUNK, counter.read
    # ... and the server closed the connection instead of draining 64 MiB it would throw away (what the
    # client could still hand over went into the kernel's socket buffers, not into the server).
    assert body.sent < CHUNKS * CHUNK / 2, body.sent


def test_a_chunked_body_under_the_limit_is_answered(served, scripted_models):
    url, counter = served
    scripted_models.queue("fast", "Bonjour !")
    response = httpx.post(f"{url}/v1/chat/completions", content=iter(Offered(1)),
                          headers={"Content-Type": "application/json"}, timeout=30)
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"]


def test_a_declared_length_over_the_limit_is_refused_before_reading(served):
    url, counter = served
    payload = json.dumps({"model": "relais-general",
                          "messages": [{"role": "user", "content": "z" * (2 * LIMIT)}]}).encode()
    response = httpx.post(f"{url}/v1/chat/completions", content=payload,
                          headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"
    assert counter.read == 0


def test_langserve_routes_stop_reading_at_the_limit_too(served):
    url, counter = served
    body = Offered(CHUNKS)
    response = httpx.post(f"{url}/agents/general/invoke", content=iter(body),
                          headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"
    assert counter.read <= LIMIT + 4 * CHUNK, counter.read
