"""Rate limits shared through the real Redis at 127.0.0.1:6379: one quota per user whichever replica answers."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
import redis
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from server.auth import Identity, authenticate
from server.errors import install_error_handlers
from server.limits import RateLimiter, enforce_rate_limit

pytestmark = pytest.mark.integration

REDIS_URL = "redis://127.0.0.1:6379/0"
START_REDIS = 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'
ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = ("127.0.0.1", 50000)


def replica_app() -> FastAPI:
    """One "replica": authentication, then the rate limit the settings describe (uvicorn --factory)."""
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/chat")
    async def chat(request: Request, identity: Annotated[Identity, Depends(authenticate)]) -> dict:
        enforce_rate_limit(request, identity)
        return {"ok": True, "pid": os.getpid()}

    @app.get("/ready")
    async def ready() -> dict:
        return {"ok": True}

    return app


@pytest.fixture(scope="module")
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis does not answer at {REDIS_URL} ({error}); start it with: {START_REDIS}")
    yield client
    client.close()


@pytest.fixture
def key_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A prefix no other test uses; its keys are deleted afterwards."""
    prefix = f"relais-test-{uuid.uuid4().hex}"
    yield prefix
    keys = list(redis_client.scan_iter(f"{prefix}:*"))
    if keys:
        redis_client.delete(*keys)


def user(name: str) -> dict[str, str]:
    return {"X-OpenWebUI-User-Id": name}


@pytest.fixture
def trusted_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    from relais.settings import get_settings

    monkeypatch.setenv("RELAIS_TRUST_USER_HEADERS", "true")
    get_settings.cache_clear()


def test_two_apps_share_one_quota_per_user(key_prefix, redis_client, trusted_headers):
    replicas = []
    for _ in range(2):
        app = replica_app()
        app.state.rate_limiter = RateLimiter(3, REDIS_URL, key_prefix=key_prefix)
        replicas.append(TestClient(app, client=LOOPBACK))
    first, second = replicas
    codes = [client.post("/chat", headers=user("alice")).status_code for client in (first, second, first)]
    assert codes == [200, 200, 200]
    refused = [client.post("/chat", headers=user("alice")) for client in (first, second)]
    assert [response.status_code for response in refused] == [429, 429]
    for response in refused:
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert response.json()["error"]["code"] == "rate_limit_exceeded"
    assert second.post("/chat", headers=user("bob")).status_code == 200  # another user has their own quota
    assert redis_client.keys(f"{key_prefix}:*"), "the counters should be in Redis"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_replica(port: int, env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "uvicorn", "--factory", "tests.integration.test_shared_limits:replica_app",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_ready(process: subprocess.Popen, port: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            pytest.fail(f"replica on port {port} exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"replica on port {port} not ready after {timeout_s:.0f} s")


@pytest.fixture
def two_replica_processes(key_prefix: str) -> Iterator[list[str]]:
    """Two server processes configured only through the environment, as a deployment does."""
    env = {**os.environ, "RELAIS_REDIS_URL": REDIS_URL, "RELAIS_REDIS_KEY_PREFIX": key_prefix,
           "RELAIS_RATE_LIMIT_PER_MINUTE": "4", "RELAIS_TRUST_USER_HEADERS": "true", "HF_HUB_OFFLINE": "1"}
    ports = [_free_port(), _free_port()]
    processes = [_start_replica(port, env) for port in ports]
    try:
        for process, port in zip(processes, ports, strict=True):
            _wait_ready(process, port)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_two_processes_share_the_quota_set_by_the_environment(two_replica_processes):
    first, second = two_replica_processes
    answers = [httpx.post(f"{base}/chat", headers=user("carol"), timeout=10) for base in (first, second) * 2]
    assert [answer.status_code for answer in answers] == [200] * 4
    assert len({answer.json()["pid"] for answer in answers}) == 2, "both processes should have answered"
    # Four requests went to two processes: a per-process count would still allow two more on each.
    assert [httpx.post(f"{base}/chat", headers=user("carol"), timeout=10).status_code
            for base in (first, second)] == [429, 429]


def test_after_an_outage_the_limiter_counts_in_redis_again(key_prefix, redis_client, monkeypatch, caplog):
    limiter = RateLimiter(10, REDIS_URL, key_prefix=key_prefix)
    real_hit = limiter.shared.hit
    failures = iter([redis.ConnectionError("simulated outage")])

    def hit_once_failing(*args, **kwargs):
        error = next(failures, None)
        if error is not None:
            raise error
        return real_hit(*args, **kwargs)

    monkeypatch.setattr(limiter.shared, "hit", hit_once_failing)
    monkeypatch.setattr("server.limits.SHARED_RETRY_S", 0.0)  # try Redis again on the next request
    with caplog.at_level(logging.WARNING, logger="server.limits"):
        assert limiter.acquire("dave") is None
        assert not limiter.counting_shared and not redis_client.keys(f"{key_prefix}:*")
        assert limiter.acquire("dave") is None
    assert limiter.counting_shared
    assert len(redis_client.keys(f"{key_prefix}:*")) == 1
    messages = [record.getMessage() for record in caplog.records]
    assert "does not answer" in messages[0] and "answers again" in messages[1]
