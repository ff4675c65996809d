"""The audit trail on a real PostgreSQL server: chain, concurrency, keyed seals, upgrade of an old trail.

Uses a throw-away database per test on the server at 127.0.0.1:5432 (tests/fakes/postgres.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from cli.main import main as relais_main
from relais.settings import get_settings
from server.audit import AuditEntry, AuditLog, AuditUnavailable, row_hash, sha256_text
from server.audit_keys import key_id_of
from server.audit_records import KEYED_HASHED_COLUMNS
from tests.fakes.postgres import throwaway_database

pytestmark = pytest.mark.integration

KEY = "c" * 16 + "0123456789abcdef0123456789abcdef"


@pytest.fixture
def postgres_url(monkeypatch) -> Iterator[str]:
    """A fresh database on the running server; RELAIS_AUDIT_URL and RELAIS_AUDIT_KEY point at it."""
    with throwaway_database("relais_audit") as libpq_url:
        url = libpq_url.replace("postgresql://", "postgresql+psycopg://", 1)
        monkeypatch.setenv("RELAIS_AUDIT_URL", url)
        monkeypatch.setenv("RELAIS_AUDIT_KEY", KEY)
        get_settings.cache_clear()
        yield url


def entry(n: int, **overrides) -> AuditEntry:
    values = dict(request_id=f"pg-{n}", user_id="u-1", outcome="ok", groups=["QA"], agent="procedures",
                  route_confidence=0.5, tokens_in=n, tokens_out=2 * n, latency_ms=10.25 * n, energy_kwh=1e-5,
                  request_content=f"q{n}")
    values.update(overrides)
    return AuditEntry(**values)


def rechain_with_sha256(conn, start: int) -> None:
    """An attacker without the key: recompute plain sha256 hashes from record `start` to the end."""
    rows = [dict(row._mapping) for row in conn.execute(text("SELECT * FROM audit_records ORDER BY seq"))]
    previous = rows[start - 2]["row_hash"]
    for row in rows[start - 1:]:
        row["prev_hash"] = previous
        canonical = {name: row[name] for name in KEYED_HASHED_COLUMNS}
        row["row_hash"] = sha256_text(json.dumps(canonical, sort_keys=True, separators=(",", ":"),
                                                 ensure_ascii=False))
        conn.execute(text("UPDATE audit_records SET prev_hash = :prev, row_hash = :hash WHERE seq = :seq"),
                     {"prev": row["prev_hash"], "hash": row["row_hash"], "seq": row["seq"]})
        previous = row["row_hash"]


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
    assert report.key_spans == ((key_id_of(KEY.encode()), 1, 30),)
    assert log.rows(limit=1)[0].latency_ms is not None

    engine = log.engine()
    # tokens_out + 1, not a constant: which entry lands at seq 5 depends on the threads' order,
    # and entry(0) already has tokens_out = 0 (setting 0 there changed nothing and CI saw #9 first)
    with engine.begin() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(text("UPDATE audit_records SET tokens_out = tokens_out + 1 WHERE seq = 5"))
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_records DISABLE TRIGGER audit_records_no_change"))
        conn.execute(text("UPDATE audit_records SET tokens_out = tokens_out + 1 WHERE seq = 5"))
        conn.execute(text("DELETE FROM audit_records WHERE seq = 9"))
    report = log.verify()
    assert (report.problem.seq, report.problem.kind) == (5, "edited")
    log.close()


def test_a_rewrite_with_a_recomputed_sha256_chain_is_found_on_postgres(postgres_url, capsys):
    log = AuditLog.from_settings()
    for n in range(6):
        log.record(entry(n))
    assert relais_main(["audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith("audit trail intact: 6 records; head #6 ")
    with log.engine().begin() as conn:  # someone with the database's rights, not the key
        conn.execute(text("ALTER TABLE audit_records DISABLE TRIGGER audit_records_no_change"))
        conn.execute(text("UPDATE audit_records SET user_id = 'someone-else' WHERE seq = 4"))
        rechain_with_sha256(conn, 4)
        conn.execute(text("ALTER TABLE audit_records ENABLE TRIGGER audit_records_no_change"))
    assert relais_main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "audit trail BROKEN at record #4 (edited)" in out and "without the key" in out
    log.close()


def test_a_shared_database_without_a_key_refuses_to_record(postgres_url, monkeypatch):
    monkeypatch.delenv("RELAIS_AUDIT_KEY")
    get_settings.cache_clear()
    log = AuditLog.from_settings()
    with pytest.raises(AuditUnavailable, match="RELAIS_AUDIT_KEY set to the same secret on every replica"):
        log.ensure_writable()
    assert not (get_settings().data_dir / "audit.key").exists()
    log.close()


def test_a_streamed_request_counts_once_on_postgres(postgres_url):
    log = AuditLog(postgres_url)
    log.record(entry(1, outcome="started", tokens_in=0, tokens_out=0))
    log.record(entry(2))
    log.record(entry(1))
    assert [(row.request_id, row.outcome) for row in log.rows(per_request=False)] == [
        ("pg-1", "started"), ("pg-2", "ok"), ("pg-1", "ok")]
    assert [(row.request_id, row.outcome) for row in log.rows()] == [("pg-2", "ok"), ("pg-1", "ok")]
    log.close()


def test_a_trail_from_before_keying_is_upgraded_on_postgres(postgres_url, monkeypatch):
    old = AuditLog(postgres_url)
    with old.engine().begin() as conn:  # yesterday's schema: no key_id column, plain sha256 chain
        conn.execute(text("DROP INDEX IF EXISTS ix_audit_records_request_id"))
        conn.execute(text("ALTER TABLE audit_records DROP COLUMN key_id"))
        conn.execute(text("DROP TABLE relais_schema_migrations"))  # it predates schema versioning too
        previous = "0" * 64
        for n in range(1, 4):
            values = {"seq": n, "ts": f"2026-01-0{n}T09:00:00.000000+00:00", "request_id": f"old-{n}",
                      "user_id": "u-0", "groups": "[]", "requested_model": None, "agent": "general",
                      "route_method": None, "route_confidence": None, "model": None, "provider": None,
                      "destination": None, "guard": "null", "tokens_in": n, "tokens_out": 0, "latency_ms": None,
                      "energy_kwh": None, "co2_kg": None, "outcome": "ok", "message": None,
                      "request_sha256": sha256_text(f"q{n}"), "answer_sha256": None, "prev_hash": previous}
            values["row_hash"] = row_hash(values)
            conn.execute(text(f"INSERT INTO audit_records ({', '.join(values)}) "
                              f"VALUES ({', '.join(':' + name for name in values)})"), values)
            previous = values["row_hash"]
    old.close()
    upgraded = AuditLog(postgres_url)  # a new process on the old trail: adds the column, seals new records
    upgraded.record(entry(4))
    assert (upgraded.verify().problem.seq, upgraded.verify().problem.kind) == (1, "edited")
    report = AuditLog(postgres_url, unkeyed_until=3).verify()
    assert report.ok and report.unkeyed == 3 and report.key_spans == ((key_id_of(KEY.encode()), 4, 4),)
    with upgraded.engine().begin() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(text("UPDATE audit_records SET tokens_out = 1 WHERE seq = 1"))
    upgraded.close()
