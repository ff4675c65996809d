"""Time what identity, access policy and rate limit add per request (p50/p95), without the audit write.

Run from the checkout: PYTHONPATH=. python benchmarks/governance_overhead.py [--requests 2000]
(The audit write per request is measured by benchmarks/usage_day.py.)
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import jwt
from starlette.requests import Request

from cli.commands.usage import percentile
from relais.settings import get_settings
from server.access import AccessPolicy
from server.auth import resolve_identity
from server.limits import RateLimiter

SAMPLE_POLICY = Path(__file__).resolve().parents[1] / "knowledge" / "policy" / "access.toml"
SECRET = "benchmark-secret-" + "x" * 48


def openwebui_request(user: int) -> Request:
    now = int(time.time())
    token = jwt.encode({"sub": f"user-{user}", "email": f"user{user}@example.com", "name": "Jean Dupont",
                        "role": "user", "iss": "open-webui", "iat": now, "exp": now + 300}, SECRET, algorithm="HS256")
    headers = [(b"authorization", b"Bearer key-1"), (b"x-openwebui-user-jwt", token.encode()),
               (b"x-openwebui-user-groups", b"Juridique,Informatique")]
    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": headers,
             "client": ("10.0.0.5", 40000), "query_string": b""}
    return Request(scope)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    os.environ.update(RELAIS_API_KEYS="key-1,key-2", RELAIS_OPENWEBUI_JWT_SECRET=SECRET,
                      RELAIS_TRUST_USER_HEADERS="true")
    get_settings.cache_clear()
    settings = get_settings()
    policy = AccessPolicy.load(SAMPLE_POLICY)
    limiter = RateLimiter(10_000)
    requests = [openwebui_request(n % 50) for n in range(args.requests)]
    timings = []
    for request in requests:
        start = time.perf_counter()
        identity = resolve_identity(request, settings, policy)
        policy.can_use(identity, "contract_clauses")
        limiter.check(identity.user_id)
        timings.append((time.perf_counter() - start) * 1000)
    print(f"API key + JWT + groups + policy + rate limit, {args.requests} requests: "
          f"p50 {percentile(timings, 0.5):.3f} ms, p95 {percentile(timings, 0.95):.3f} ms")


if __name__ == "__main__":
    main()
