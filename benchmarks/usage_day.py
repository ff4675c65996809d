"""Simulate a day of 1,000 requests into a temporary audit database; time the audit write and the report.

Run from the checkout: PYTHONPATH=. python benchmarks/usage_day.py [--requests 1000] [--store-content]
Prints the audit write p50/p95 per request (SQLite, WAL, synchronous=FULL), verify time, and the
usage report time per dimension, then the report by group.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cli.commands.usage import DIMENSIONS, percentile, summarise, summarise_group, write_table
from server.audit import AuditEntry, AuditLog

AGENTS = ["procedures", "regulatory_analysis", "contract_clauses", "translation", "general", "code",
          "computer_validation", "web_research"]
GROUPS = ["Assurance qualité", "Affaires réglementaires", "Juridique", "Achats", "Informatique"]
MODELS = [("mistral:mistral-small-latest", "mistral", "remote-eu"), ("local:qwen2.5:7b-instruct", "local", "local")]


def simulated_entry(rng: random.Random, n: int, day: datetime) -> AuditEntry:
    model, provider, destination = rng.choice(MODELS)
    outcome = rng.choices(["ok", "error", "refused"], weights=[94, 3, 3])[0]
    tokens_out = 0 if outcome != "ok" else rng.randint(50, 900)
    energy = None if provider == "local" and rng.random() < 0.2 else tokens_out * 2e-6
    return AuditEntry(
        request_id=f"sim-{n}", user_id=f"user-{rng.randint(1, 60)}", outcome=outcome,
        groups=rng.sample(GROUPS, rng.choice([1, 1, 2])), requested_model="relais-auto", agent=rng.choice(AGENTS),
        route_method=rng.choice(["embedding", "llm"]), route_confidence=rng.random(), model=model,
        provider=provider, destination=destination, guard={"action": "allow", "findings": []},
        tokens_in=rng.randint(200, 6000), tokens_out=tokens_out, latency_ms=rng.lognormvariate(7.5, 0.6),
        energy_kwh=energy, co2_kg=None if energy is None else energy * 0.06,
        request_content="Question " + "x" * rng.randint(50, 2000), answer_content="Réponse " + "y" * tokens_out * 4,
        timestamp=day + timedelta(seconds=rng.uniform(8 * 3600, 19 * 3600)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--store-content", action="store_true")
    args = parser.parse_args()
    rng = random.Random(5)
    day = datetime(2026, 3, 2, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder:
        log = AuditLog(f"sqlite:///{Path(folder) / 'audit.db'}", store_content=args.store_content)
        log.record(simulated_entry(rng, -1, day))  # schema creation is not part of a request
        entries = [simulated_entry(rng, n, day) for n in range(args.requests)]
        writes = []
        for entry in entries:
            start = time.perf_counter()
            log.record(entry)
            writes.append((time.perf_counter() - start) * 1000)
        print(f"audit write per request ({args.requests}, store_content={args.store_content}): "
              f"p50 {percentile(writes, 0.5):.2f} ms, p95 {percentile(writes, 0.95):.2f} ms, "
              f"mean {statistics.mean(writes):.2f} ms")
        start = time.perf_counter()
        report = log.verify()
        print(f"verify {report.records} records: {(time.perf_counter() - start) * 1000:.0f} ms, ok={report.ok}")
        start = time.perf_counter()
        records = log.rows()
        print(f"read {len(records)} records: {(time.perf_counter() - start) * 1000:.0f} ms")
        for by in DIMENSIONS:
            start = time.perf_counter()
            rows = summarise(records, by)
            print(f"usage --by {by}: {len(rows)} rows in {(time.perf_counter() - start) * 1000:.1f} ms")
        out = io.StringIO()
        write_table(summarise(records, "group"), summarise_group("TOTAL", records), "group", out)
        print(out.getvalue())
        log.close()


if __name__ == "__main__":
    main()
