"""Throughput with 1 and 2 Relais replicas behind nginx, on shared PostgreSQL and Redis.

Each run starts the replicas as `relais serve` processes (tests/fakes/replicas.py: deploy/nginx/relais.conf
in front, their own data folders), all on one throw-away PostgreSQL database (threads' checkpoints,
audit trail, exports) and Redis (rate limit), with the fake Mistral server at a fixed latency per token
as their model. Then `--requests` streamed chats (relais-general, each in its own Open WebUI chat, so a
checkpoint is written for every one), `--concurrency` at a time, go through nginx. Printed per replica
count: requests/s, p50/p95 latency, errors, memory per replica (RSS) and the load average.

Mind the machine: replicas are CPU-bound Python processes. On 2 cores shared with the fake model
server, nginx, PostgreSQL and this client, two replicas cannot double throughput; the figure that
matters there is that a second replica adds no error and no latency of its own.

Needs PostgreSQL (RELAIS_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test),
Redis at 127.0.0.1:6379 and nginx (`make e2e-deps`).

Run: .venv/bin/python benchmarks/replicas.py [--replicas 1 2] [--requests 200] [--concurrency 20] [--token-ms 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

POSTGRES_URL = os.environ.get("RELAIS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test").replace(
    "postgresql+psycopg://", "postgresql://")
REDIS_URL = "redis://127.0.0.1:6379/0"
API_KEY = "bench-replicas-key"


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` percentile (whole percents), interpolated like numpy's default."""
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh database on the PostgreSQL server, dropped afterwards."""
    import psycopg

    name = f"relais_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def replica_env(database: str, model_url: str) -> dict[str, str]:
    """The same engines and secrets for every replica; a rate limit no benchmark reaches."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith(("RELAIS_", "MISTRAL_"))}
    return {**inherited, "HF_HUB_OFFLINE": "1", "LANGSMITH_TRACING": "false",
            "MISTRAL_API_KEY": "bench", "MISTRAL_BASE_URL": model_url,
            "RELAIS_DATABASE_URL": database,
            "RELAIS_AUDIT_URL": database.replace("postgresql://", "postgresql+psycopg://"),
            "RELAIS_AUDIT_KEY": "bench-replicas-audit-key-0123456789abcdef",
            "RELAIS_REDIS_URL": REDIS_URL, "RELAIS_REDIS_KEY_PREFIX": f"relais-bench-{uuid.uuid4().hex[:8]}",
            "RELAIS_RATE_LIMIT_PER_MINUTE": "1000000", "RELAIS_LINK_SECRET": "bench-link-secret-0123456789abcdef",
            "RELAIS_API_KEYS": API_KEY, "RELAIS_TRUST_USER_HEADERS": "true"}


async def one_chat(client: httpx.AsyncClient, url: str, number: int) -> float:
    """One streamed chat in a new Open WebUI chat; its wall time to [DONE]."""
    headers = {"Authorization": f"Bearer {API_KEY}", "X-OpenWebUI-User-Id": f"user-{number % 50}",
               "X-OpenWebUI-Chat-Id": f"bench-{uuid.uuid4().hex}"}
    body = {"model": "relais-general", "stream": True,
            "messages": [{"role": "user", "content": "Bonjour, peux-tu m'aider avec la procédure de nettoyage ?"}]}
    started = time.perf_counter()
    async with client.stream("POST", f"{url}/v1/chat/completions", json=body, headers=headers,
                             timeout=120) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith('data: {"error"'):
                raise RuntimeError(line)
            if line == "data: [DONE]":
                return time.perf_counter() - started
    raise RuntimeError("stream ended without [DONE]")


async def load(url: str, requests: int, concurrency: int) -> tuple[list[float], list[BaseException], float]:
    """`requests` chats, at most `concurrency` in flight: (latencies, errors, wall time)."""
    gate = asyncio.Semaphore(concurrency)

    async def gated(client: httpx.AsyncClient, number: int) -> float:
        async with gate:
            return await one_chat(client, url, number)

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:
        await asyncio.gather(*(gated(client, n) for n in range(min(concurrency, 10))))  # warm-up, not counted
        started = time.perf_counter()
        results = await asyncio.gather(*(gated(client, n) for n in range(requests)), return_exceptions=True)
        wall = time.perf_counter() - started
    errors = [result for result in results if isinstance(result, BaseException)]
    return [result for result in results if isinstance(result, float)], errors, wall


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(replicas: int, args: argparse.Namespace, model_url: str) -> None:
    from tests.fakes.replicas import ReplicaCluster

    with throwaway_database() as database, tempfile.TemporaryDirectory() as workdir:
        cluster = ReplicaCluster(replica_env(database, model_url), Path(workdir), replicas=replicas)
        with cluster:
            latencies, errors, wall = asyncio.run(load(cluster.url, args.requests, args.concurrency))
            memory = [rss_mb(process.pid) for process in cluster.processes if process is not None]
            loadavg = Path("/proc/loadavg").read_text().split()[:3]
    for error in errors[:3]:
        print("  error:", repr(error))
    print(f"{replicas} replica(s): {len(latencies) / wall:6.1f} req/s  "
          f"p50 {1000 * statistics.median(latencies):6.0f} ms  p95 {1000 * percentile(latencies, 0.95):6.0f} ms  "
          f"errors {len(errors)}/{args.requests}  RSS/replica {', '.join(f'{mb:.0f}' for mb in memory)} MB  "
          f"load {' '.join(loadavg)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--token-ms", type=float, default=5.0, help="fake model latency per token")
    args = parser.parse_args()

    from tests.fakes.mistral_server import FakeModelServer

    print(f"{os.cpu_count()} CPU core(s); load before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    if (os.cpu_count() or 1) <= 2:
        print("note: on 2 cores shared by the replicas, nginx, PostgreSQL, the fake model and this client, "
              "two replicas cannot double throughput")
    with FakeModelServer() as model:
        model.token_latency_ms = args.token_ms
        for count in args.replicas:
            run(count, args, model.base_url)


if __name__ == "__main__":
    main()
