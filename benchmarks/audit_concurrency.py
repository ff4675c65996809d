"""Audit records per second with 1 and 4 writer processes on one database (PostgreSQL, or SQLite).

Every append reads the chain's head, seals on it and inserts, under a lock shared by all processes
(an advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite: server.audit_migrations), so writers
queue for the head: the figure shows what that serialisation costs when replicas write at once.
Each run writes `--records` records in all, split evenly between the writers (spawned processes,
released together), on a fresh database (PostgreSQL: a throw-away database, dropped afterwards),
then checks the chain with `AuditLog.verify`.

Usage: PYTHONPATH=. python benchmarks/audit_concurrency.py [--records 1000] [--writers 1 4]
       [--postgres postgresql://postgres@127.0.0.1:5432/test | --sqlite]
Prints figures with the load average; asserts nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from server.audit import AuditEntry, AuditLog
from server.audit_keys import AuditKey, AuditKeyring

KEY = "b" * 16 + "0123456789abcdef0123456789abcdef"


def open_log(url: str) -> AuditLog:
    return AuditLog(url, keyring=AuditKeyring(AuditKey.from_text(KEY, "benchmark")))


def write(barrier, spans, url: str, writer: int, count: int) -> None:
    """One writer process: wait for the others, append `count` records; puts its (start, end) wall-clock times."""
    log = open_log(url)
    log.engine()  # connected and migrated before the clock starts
    barrier.wait(timeout=120)
    start = time.time()
    for n in range(count):
        log.record(AuditEntry(request_id=f"w{writer}-{n}", user_id=f"user-{writer}", outcome="ok", agent="general",
                              tokens_in=100, tokens_out=200, latency_ms=850.0, request_content=f"question {n}"))
    end = time.time()
    log.close()
    spans.put((start, end))


def run(url: str, writers: int, records: int) -> tuple[float, bool]:
    """Records per second for `writers` processes writing `records` in all, and whether the chain verifies."""
    open_log(url).engine()  # the schema exists before the writers start: only appends are timed
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(writers), context.Queue()
    processes = [context.Process(target=write, args=(barrier, queue, url, writer, records // writers))
                 for writer in range(writers)]
    for process in processes:
        process.start()
    spans = [queue.get(timeout=600) for _ in processes]  # a writer that dies ends the run here
    for process in processes:
        process.join()
    elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    log = open_log(url)
    report = log.verify()
    log.close()
    return (records // writers * writers) / elapsed, report.ok and report.records == records // writers * writers


@contextmanager
def fresh_database(postgres: str | None) -> Iterator[str]:
    """A SQLAlchemy URL of an empty database: a throw-away PostgreSQL database, or a SQLite file."""
    if postgres is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'audit.db'}"
        return
    name = f"relais_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000, help="records per run, split between the writers")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4], help="writer processes per run")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test",
                       help="server (libpq URL of an existing database) where a throw-away database is made")
    where.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    args = parser.parse_args()
    postgres = None if args.sqlite else args.postgres
    print(f"audit appends, {args.records} records per run, on {'SQLite' if postgres is None else 'PostgreSQL'}; "
          f"{os.cpu_count()} cores")
    for writers in args.writers:
        load_before = os.getloadavg()[0]
        with fresh_database(postgres) as url:
            rate, intact = run(url, writers, args.records)
        print(f"{writers} writer(s): {rate:7.1f} records/s, chain {'intact' if intact else 'BROKEN'}; "
              f"load average {load_before:.2f} -> {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
