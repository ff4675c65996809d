"""Gateway overhead: the time Relais adds over the model itself, and 50 concurrent streamed chats.

The model is the local fake Mistral server with a fixed latency per token, reached the same way
Relais reaches it in production (langchain-mistralai over HTTP). Measured:
- direct: ChatMistralAI streaming straight from the fake server;
- through Relais: Open WebUI's request shape (streamed /v1/chat/completions on relais-general,
  so the router is out of the picture) against the real app under uvicorn, audit and auth on;
- the difference, p50/p95, and 50 concurrent streamed chats (errors counted).

Run: .venv/bin/python benchmarks/gateway.py [--requests 40] [--concurrency 50] [--token-ms 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` percentile (whole percents, 0.01-0.99), interpolated like numpy's default."""
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def configure(model_url: str, data_dir: str) -> None:
    os.environ.update({"MISTRAL_API_KEY": "bench", "MISTRAL_BASE_URL": model_url, "RELAIS_DATA_DIR": data_dir,
                       "HF_HUB_OFFLINE": "1", "RELAIS_RATE_LIMIT_PER_MINUTE": "100000"})
    from relais.settings import get_settings

    get_settings.cache_clear()


def direct_latencies(count: int) -> list[float]:
    from langchain_core.messages import HumanMessage

    from relais.models.catalog import get_chat_model

    model = get_chat_model("fast", "internal")
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        for _chunk in model.stream([HumanMessage("Bonjour, peux-tu m'aider ?")]):
            pass
        timings.append(time.perf_counter() - started)
    return timings


async def relais_chat(client: httpx.AsyncClient, url: str) -> float:
    body = {"model": "relais-general", "stream": True,
            "messages": [{"role": "user", "content": "Bonjour, peux-tu m'aider ?"}]}
    started = time.perf_counter()
    async with client.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=120) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line == "data: [DONE]":
                break
            if line.startswith('data: {"error"'):
                raise RuntimeError(line)
    return time.perf_counter() - started


async def sequential(url: str, count: int) -> list[float]:
    async with httpx.AsyncClient() as client:
        await relais_chat(client, url)  # warm-up: first graph run, first audit write
        return [await relais_chat(client, url) for _ in range(count)]


async def concurrent(url: str, count: int) -> tuple[list[float], int, float]:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=count)) as client:
        started = time.perf_counter()
        results = await asyncio.gather(*(relais_chat(client, url) for _ in range(count)), return_exceptions=True)
        wall = time.perf_counter() - started
    errors = [result for result in results if isinstance(result, Exception)]
    for error in errors[:3]:
        print("error:", error)
    return [result for result in results if isinstance(result, float)], len(errors), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--token-ms", type=float, default=5.0, help="fake model latency per token")
    args = parser.parse_args()

    from tests.e2e.conftest import ThreadedServer, free_port
    from tests.fakes.mistral_server import FakeModelServer

    with FakeModelServer() as model, tempfile.TemporaryDirectory() as data_dir:
        model.token_latency_ms = args.token_ms
        configure(model.base_url, data_dir)
        from server.app import create_app

        direct = direct_latencies(args.requests)
        with ThreadedServer(create_app(), free_port()) as server:
            url = f"http://127.0.0.1:{server.port}"
            through = asyncio.run(sequential(url, args.requests))
            burst, errors, wall = asyncio.run(concurrent(url, args.concurrency))

    added = [relais - model_time for relais, model_time in zip(sorted(through), sorted(direct), strict=True)]
    print(f"model alone (direct stream)   p50 {1000 * statistics.median(direct):7.1f} ms  "
          f"p95 {1000 * percentile(direct, 0.95):7.1f} ms  (n={len(direct)}, {args.token_ms} ms/token)")
    print(f"through Relais (SSE, audited) p50 {1000 * statistics.median(through):7.1f} ms  "
          f"p95 {1000 * percentile(through, 0.95):7.1f} ms")
    print(f"added by Relais               p50 {1000 * statistics.median(added):7.1f} ms  "
          f"p95 {1000 * percentile(added, 0.95):7.1f} ms")
    print(f"{args.concurrency} concurrent streamed chats: {errors} errors, wall {wall:.2f} s, "
          f"p50 {1000 * statistics.median(burst):.0f} ms, p95 {1000 * percentile(burst, 0.95):.0f} ms")


if __name__ == "__main__":
    main()
