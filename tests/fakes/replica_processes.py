"""Processes that stand in for Relais replicas: started at the same moment, each on its own audit log.

Spawned (not forked), so each has its own interpreter, engine and locks, as a replica would;
workers are module-level functions so the child can import them.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from server.audit import AuditEntry, AuditLog
from server.audit_keys import AuditKey, AuditKeyring

TEST_KEY = "r" * 16 + "0123456789abcdef0123456789abcdef"


def audit_log(url: str) -> AuditLog:
    """The audit log a replica opens on `url`, sealing with the key every replica shares."""
    return AuditLog(url, keyring=AuditKeyring(AuditKey.from_text(TEST_KEY, "test")))


def open_audit(url: str) -> list[int]:
    """A replica starting: open the audit database (which migrates it); the migrations this process applied."""
    log = audit_log(url)
    try:
        log.engine()
        return log.applied_migrations
    finally:
        log.close()


def start_replica(database_url: str) -> list[int]:
    """A replica starting on RELAIS_DATABASE_URL: its checkpoint tables, then its audit trail (both migrate).

    Returns the audit migrations this process applied.
    """
    import os

    from relais.settings import get_settings
    from relais.threads import open_checkpointer

    os.environ["RELAIS_DATABASE_URL"] = database_url
    os.environ.pop("RELAIS_AUDIT_URL", None)
    get_settings.cache_clear()
    open_checkpointer()
    return open_audit(get_settings().audit_database_url)


def write_records(url: str, writer: int, count: int) -> int:
    """A replica serving `count` requests: one audit record each, request ids `w<writer>-<n>`."""
    log = audit_log(url)
    try:
        for n in range(count):
            log.record(AuditEntry(request_id=f"w{writer}-{n}", user_id=f"user-{writer}", outcome="ok",
                                  groups=["QA"], agent="general", tokens_in=n, tokens_out=1, latency_ms=10.0,
                                  request_content=f"question {n} of writer {writer}"))
        return count
    finally:
        log.close()


def _child(barrier: Any, results: Any, index: int, target: Callable[..., Any], args: tuple) -> None:
    try:
        barrier.wait(timeout=60)  # every process is ready: go at the same moment
        results.put((index, True, target(*args)))
    except BaseException:  # noqa: BLE001 - reported to the parent, which fails the test with it
        results.put((index, False, traceback.format_exc()))


def run_together(target: Callable[..., Any], per_process_args: Sequence[tuple], timeout_s: float = 300) -> list:
    """Run `target(*args)` in one spawned process per args tuple, released together; their results in order.

    Raises:
        AssertionError: a process failed (its traceback is in the message) or did not finish in time.
    """
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(len(per_process_args)), context.Queue()
    processes = [context.Process(target=_child, args=(barrier, results, index, target, args))
                 for index, args in enumerate(per_process_args)]
    for process in processes:
        process.start()
    outcomes = dict((index, (ok, value)) for index, ok, value in (results.get(timeout=timeout_s) for _ in processes))
    for process in processes:
        process.join(timeout=30)
    failures = [value for ok, value in outcomes.values() if not ok]
    assert not failures, "a replica process failed:\n" + "\n".join(failures)
    return [outcomes[index][1] for index in range(len(processes))]
