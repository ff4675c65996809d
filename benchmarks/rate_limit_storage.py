"""Time one rate-limit check (p50/p95) counted in memory and in Redis, and a check while Redis is down.

Run from the checkout, with Redis on 127.0.0.1:6379:
PYTHONPATH=. python benchmarks/rate_limit_storage.py [--requests 5000] [--redis redis://127.0.0.1:6379/0]
The keys it writes carry a unique prefix and are deleted at the end.
"""

from __future__ import annotations

import argparse
import socket
import time
import uuid

import redis

from cli.commands.usage import percentile
from server.limits import RateLimiter

USERS = 50


def time_checks(limiter: RateLimiter, requests: int) -> list[float]:
    timings = []
    for n in range(requests):
        start = time.perf_counter()
        limiter.acquire(f"user-{n % USERS}")
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def report(name: str, timings: list[float]) -> None:
    print(f"{name:<28} {len(timings):>6} checks: p50 {percentile(timings, 0.5):.3f} ms, "
          f"p95 {percentile(timings, 0.95):.3f} ms")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    per_minute = args.requests  # nobody is refused: this times the counting itself
    report("memory", time_checks(RateLimiter(per_minute), args.requests))
    prefix = f"relais-bench-{uuid.uuid4().hex}"
    try:
        report("redis", time_checks(RateLimiter(per_minute, args.redis, key_prefix=prefix), args.requests))
    finally:
        client = redis.Redis.from_url(args.redis)
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    down = RateLimiter(per_minute, f"redis://127.0.0.1:{closed_port()}/0")
    report("redis down (memory fallback)", time_checks(down, args.requests))


if __name__ == "__main__":
    main()
