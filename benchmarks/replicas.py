"""Throughput with 1, 2 and 4 Relais replicas behind nginx, and the cost of the shared engines per request.

Each run starts the replicas as `relais serve` processes (tests/fakes/replicas.py: deploy/nginx/relais.conf
in front, their own data folders), with the fake Mistral server at a fixed latency per token as their
model. Then `--requests` streamed chats (relais-general, each in its own Open WebUI chat, so a checkpoint
is written for every one), `--concurrency` at a time, go through nginx. Printed per row: requests/s,
p50/p95 latency, errors, memory per replica (RSS) and the load average before and after the row.

Two modes (`--mode`, both by default):
- replicas: 1, 2, 4... replicas on one throw-away PostgreSQL database (checkpoints, audit trail, exports)
  and Redis (rate limit): the deployment of deploy/.
- engines: the same requests against ONE replica, (a) with the single-process defaults (SQLite
  checkpoints and audit trail in the data folder, rate limit counted in memory), then (b) on PostgreSQL
  (RELAIS_DATABASE_URL) and Redis (RELAIS_REDIS_URL). The p50/p95 difference is what the shared engines
  cost a request (checkpoint writes, one audit record, one rate-limit check).

No request is refused by a limit: the chats are spread over 50 users (`user-0`...`user-49`, trusted
Open WebUI headers) and RELAIS_RATE_LIMIT_PER_MINUTE is set to 1,000,000, so a 429 in the results is
a fault. nginx has 1024 worker connections (a streamed chat holds two) and keeps 32 idle upstream
connections; more concurrent chats open new ones, which is slower but no error.

Mind the machine: on 2 cores the replicas share the CPU with the fake model server, nginx, PostgreSQL,
this client and whatever else runs there, so compare rows with their load averages. More replicas
still add throughput there as long as one replica waits on its own locks (the PostgreSQL checkpointer
runs one query at a time per process; see README, "Several replicas").

Needs PostgreSQL (RELAIS_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test),
Redis at 127.0.0.1:6379 and nginx (`make e2e-deps`).

Run: .venv/bin/python benchmarks/replicas.py [--mode replicas engines] [--replicas 1 2 4] [--requests 200]
     [--concurrency 50] [--token-ms 5]
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


def single_process_env(model_url: str) -> dict[str, str]:
    """Today's defaults: SQLite checkpoints and audit trail in the data folder, rate limit in memory.

    The rate limit is raised beyond any benchmark's reach, so that no request is refused with a 429.
    """
    inherited = {key: value for key, value in os.environ.items() if not key.startswith(("RELAIS_", "MISTRAL_"))}
    return {**inherited, "HF_HUB_OFFLINE": "1", "LANGSMITH_TRACING": "false",
            "MISTRAL_API_KEY": "bench", "MISTRAL_BASE_URL": model_url, "RELAIS_THREADS": "true",
            "RELAIS_RATE_LIMIT_PER_MINUTE": "1000000", "RELAIS_LINK_SECRET": "bench-link-secret-0123456789abcdef",
            "RELAIS_API_KEYS": API_KEY, "RELAIS_TRUST_USER_HEADERS": "true"}


def shared_engines_env(database: str, model_url: str) -> dict[str, str]:
    """The same engines and secrets for every replica: PostgreSQL for state, Redis for the rate limit."""
    return {**single_process_env(model_url), "RELAIS_DATABASE_URL": database,
            "RELAIS_AUDIT_URL": database.replace("postgresql://", "postgresql+psycopg://"),
            "RELAIS_AUDIT_KEY": "bench-replicas-audit-key-0123456789abcdef",
            "RELAIS_REDIS_URL": REDIS_URL, "RELAIS_REDIS_KEY_PREFIX": f"relais-bench-{uuid.uuid4().hex[:8]}"}


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


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def measure(label: str, env: dict[str, str], replicas: int, args: argparse.Namespace) -> bool:
    """One row: start the cluster, send the chats, print the figures. True when no request failed."""
    from tests.fakes.replicas import ReplicaCluster

    with tempfile.TemporaryDirectory() as workdir, ReplicaCluster(env, Path(workdir), replicas=replicas) as cluster:
        load_before = loadavg()
        latencies, errors, wall = asyncio.run(load(cluster.url, args.requests, args.concurrency))
        memory = [rss_mb(process.pid) for process in cluster.processes if process is not None]
        load_after = loadavg()
    for error in errors[:3]:
        print("  error:", repr(error))
    if latencies:
        timing = (f"{len(latencies) / wall:6.1f} req/s  p50 {1000 * statistics.median(latencies):6.0f} ms  "
                  f"p95 {1000 * percentile(latencies, 0.95):6.0f} ms")
    else:
        timing = "no request succeeded"
    print(f"{label:<34} {timing}  errors {len(errors)}/{args.requests}  "
          f"RSS/replica {', '.join(f'{mb:.0f}' for mb in memory)} MB  load {load_before} -> {load_after}",
          flush=True)
    return not errors


def run_replicas(args: argparse.Namespace, model_url: str) -> bool:
    """Each replica count in turn, every one on its own fresh PostgreSQL database and Redis prefix."""
    clean = True
    for count in args.replicas:
        with throwaway_database() as database:
            clean &= measure(f"{count} replica(s), PostgreSQL + Redis", shared_engines_env(database, model_url),
                             count, args)
    return clean


def engine_rows(database: str, model_url: str, sqlite_audit: Path) -> list[tuple[str, dict[str, str]]]:
    """Today's defaults, each shared engine alone (to see which costs what), then all three together."""
    today = single_process_env(model_url)
    shared = shared_engines_env(database, model_url)
    return [
        ("1 replica, SQLite + memory (today)", today),
        ("  + rate limit on Redis only", {**today, **{key: shared[key] for key in (
            "RELAIS_REDIS_URL", "RELAIS_REDIS_KEY_PREFIX")}}),
        ("  + checkpoints on PostgreSQL only", {**today, "RELAIS_DATABASE_URL": database,
                                                "RELAIS_AUDIT_URL": f"sqlite:///{sqlite_audit / 'audit.db'}"}),
        ("  + audit on PostgreSQL only", {**today, **{key: shared[key] for key in (
            "RELAIS_AUDIT_URL", "RELAIS_AUDIT_KEY")}}),
        ("1 replica, PostgreSQL + Redis", shared),
    ]


def run_engines(args: argparse.Namespace, model_url: str) -> bool:
    """One replica on the single-process defaults, with each shared engine, then on PostgreSQL + Redis."""
    clean = True
    with throwaway_database() as database, tempfile.TemporaryDirectory() as audit_dir:
        for label, env in engine_rows(database, model_url, Path(audit_dir)):
            clean &= measure(label, env, 1, args)
    return clean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", nargs="+", choices=["replicas", "engines"], default=["replicas", "engines"])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--token-ms", type=float, default=5.0, help="fake model latency per token")
    args = parser.parse_args()

    from tests.fakes.mistral_server import FakeModelServer

    print(f"{os.cpu_count()} CPU core(s); {args.requests} streamed chats, {args.concurrency} at a time, "
          f"{args.token_ms:g} ms a token; load before: {loadavg()}", flush=True)
    if (os.cpu_count() or 1) <= 2:
        print("note: on 2 cores the replicas share the CPU with nginx, PostgreSQL, the fake model and this "
              "client: compare rows with their load averages", flush=True)
    clean = True
    with FakeModelServer() as model:
        model.token_latency_ms = args.token_ms
        if "replicas" in args.mode:
            clean &= run_replicas(args, model.base_url)
        if "engines" in args.mode:
            clean &= run_engines(args, model.base_url)
    sys.exit(0 if clean else 1)


if __name__ == "__main__":
    main()
