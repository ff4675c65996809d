"""The audit trail on a real PostgreSQL server (a throw-away cluster on 127.0.0.1)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from relais.audit import AuditEntry, AuditLog

pytestmark = pytest.mark.integration

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(*command: str) -> list[str]:
    # initdb refuses to run as root: run the cluster as the postgres system user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@pytest.fixture(scope="module")
def postgres_url():
    if importlib.util.find_spec("psycopg") is None:
        pytest.fail("psycopg is not installed: run `make install` (pyproject.toml pins psycopg[binary])")
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL 15 server binaries not found in {PG_BIN}: `apt-get install postgresql-15`")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        pytest.fail("running as root needs `runuser` to start PostgreSQL as its own user: `apt-get install util-linux`")
    # Directly under /tmp: the cluster user must reach it, and pytest keeps its own folders private.
    root = Path(tempfile.mkdtemp(prefix="relais-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data = root / "data"
    subprocess.run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "relais"),
                   check=True, capture_output=True)
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}"
    subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l",
                                str(root / "log"), "start"), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://relais@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def entry(n: int) -> AuditEntry:
    return AuditEntry(request_id=f"pg-{n}", user_id="u-1", outcome="ok", groups=["QA"], agent="procedures",
                      route_confidence=0.5, tokens_in=n, tokens_out=2 * n, latency_ms=10.25 * n, energy_kwh=1e-5,
                      request_content=f"q{n}")


def test_chain_concurrency_and_tampering_on_postgres(postgres_url):
    log = AuditLog(postgres_url)
    threads = [threading.Thread(target=lambda w=w: [log.record(entry(w * 10 + n)) for n in range(10)])
               for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = log.verify()
    assert report.ok and report.records == 30
    assert log.rows(limit=1)[0].latency_ms is not None

    from sqlalchemy import text

    engine = log.engine()
    with engine.begin() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(text("UPDATE audit_records SET tokens_out = 0 WHERE seq = 5"))
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_records DISABLE TRIGGER audit_records_no_change"))
        conn.execute(text("UPDATE audit_records SET tokens_out = 0 WHERE seq = 5"))
        conn.execute(text("DELETE FROM audit_records WHERE seq = 9"))
    report = log.verify()
    assert (report.problem.seq, report.problem.kind) == (5, "edited")
    log.close()
