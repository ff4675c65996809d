"""The keyed audit chain: a rewrite made without the key is found, keys rotate, old trails still verify."""

from __future__ import annotations

import json
import logging
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli.main import main as relais_main
from relais.settings import get_settings
from server.audit import AuditEntry, AuditLog, AuditUnavailable, row_hash, sha256_text
from server.audit_keys import AuditKey, key_id_of
from server.audit_records import KEYED_HASHED_COLUMNS, LEGACY_HASHED_COLUMNS

KEY_A = "a" * 16 + "0123456789abcdef0123456789abcdef"
KEY_B = "b" * 16 + "fedcba9876543210fedcba9876543210"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def entry(n: int) -> AuditEntry:
    return AuditEntry(request_id=f"req-{n}", user_id="u-1", outcome="ok", groups=["QA"], agent="procedures",
                      tokens_in=10 + n, tokens_out=5, latency_ms=12.5, request_content=f"Question {n} ?",
                      answer_content=f"Réponse {n}.", timestamp=T0 + timedelta(minutes=n))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "var" / "audit.db"


def use_keys(monkeypatch, current: str | None, old: str | None = None) -> None:
    for name, value in (("RELAIS_AUDIT_KEY", current), ("RELAIS_AUDIT_OLD_KEYS", old)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def write(db: Path, count: int, start: int = 0) -> None:
    log = AuditLog(f"sqlite:///{db}")
    for n in range(start, start + count):
        log.record(entry(n))
    log.close()


def verify(db: Path, **options):
    log = AuditLog(f"sqlite:///{db}", **options)
    try:
        return log.verify()
    finally:
        log.close()


def without_triggers(db: Path) -> sqlite3.Connection:
    """A connection as someone with the database file has it: the append-only triggers dropped."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    conn.execute("DROP TRIGGER IF EXISTS audit_records_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_records_no_delete")
    return conn


def rechain_with_sha256(conn: sqlite3.Connection, start: int, *, strip_key_ids: bool = False) -> None:
    """What an attacker without the key can do: recompute plain sha256 hashes from record `start` on."""
    rows = [dict(row) for row in conn.execute("SELECT * FROM audit_records ORDER BY seq")]
    previous = rows[start - 2]["row_hash"] if start > 1 else "0" * 64
    for row in rows[start - 1:]:
        if strip_key_ids:
            row["key_id"] = None
        row["prev_hash"] = previous
        names = LEGACY_HASHED_COLUMNS if row["key_id"] is None else KEYED_HASHED_COLUMNS
        canonical = json.dumps({name: row[name] for name in names}, sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False)
        row["row_hash"] = sha256_text(canonical)
        conn.execute("UPDATE audit_records SET key_id = ?, prev_hash = ?, row_hash = ? WHERE seq = ?",
                     (row["key_id"], row["prev_hash"], row["row_hash"], row["seq"]))
        previous = row["row_hash"]
    conn.commit()


def test_without_a_key_one_is_generated_once_beside_the_data_with_a_warning(db, caplog):
    with caplog.at_level(logging.WARNING, logger="server.audit_keys"):
        write(db, 2)
    key_file = db.parent / "audit.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "no RELAIS_AUDIT_KEY is set: generated the audit key" in caplog.text
    generated = key_file.read_text()
    write(db, 1, start=2)  # a restart reads the same key, never a new one
    assert key_file.read_text() == generated
    report = verify(db)
    assert report.ok and report.key_spans == ((key_id_of(generated.strip().encode()), 1, 3),)


def test_a_configured_key_seals_every_record_and_no_key_file_is_written(db, monkeypatch):
    use_keys(monkeypatch, KEY_A)
    write(db, 3)
    assert not (db.parent / "audit.key").exists()
    key = AuditKey.from_text(KEY_A, "test")
    conn = sqlite3.connect(db)
    assert {row[0] for row in conn.execute("SELECT key_id FROM audit_records")} == {key.key_id}
    assert KEY_A not in db.read_bytes().decode("latin-1")  # the secret itself never reaches the database
    conn.close()
    assert verify(db).key_spans == ((key.key_id, 1, 3),)


def test_a_short_key_refuses_to_write(db, monkeypatch):
    use_keys(monkeypatch, "too-short")
    with pytest.raises(AuditUnavailable, match="at least 32"):
        AuditLog(f"sqlite:///{db}").ensure_writable()


def test_a_shared_database_without_a_key_refuses_rather_than_generating_one(monkeypatch, tmp_path):
    log = AuditLog("postgresql+psycopg://relais@127.0.0.1:1/audit")
    with pytest.raises(AuditUnavailable, match="needs RELAIS_AUDIT_KEY"):
        log.record(entry(0))
    assert not (tmp_path / "var" / "audit.key").exists()


@pytest.mark.parametrize("strip_key_ids", [False, True], ids=["key-ids-kept", "key-ids-stripped"])
def test_a_rewrite_with_a_recomputed_sha256_chain_is_found_and_named(db, monkeypatch, capsys, strip_key_ids):
    use_keys(monkeypatch, KEY_A)
    write(db, 5)
    assert verify(db).ok
    conn = without_triggers(db)
    conn.execute("UPDATE audit_records SET user_id = 'someone-else', tokens_out = 0 WHERE seq = 3")
    rechain_with_sha256(conn, 3 if not strip_key_ids else 1, strip_key_ids=strip_key_ids)
    conn.close()
    report = verify(db)
    broken_at = 1 if strip_key_ids else 3  # stripping every key id makes the first record unkeyed
    assert not report.ok and report.problem.seq == broken_at and report.problem.kind == "edited"
    assert relais_main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"audit trail BROKEN at record #{broken_at} (edited)" in out
    assert "without the key" in out


def test_a_rewrite_sealed_with_another_key_under_the_same_id_is_found(db, monkeypatch):
    use_keys(monkeypatch, KEY_A)
    write(db, 3)
    wrong = AuditKey(key_id=AuditKey.from_text(KEY_A, "test").key_id, secret=KEY_B.encode())
    conn = without_triggers(db)
    row = dict(conn.execute("SELECT * FROM audit_records WHERE seq = 3").fetchone())
    row["tokens_out"] = 999
    conn.execute("UPDATE audit_records SET tokens_out = 999, row_hash = ? WHERE seq = 3", (row_hash(row, wrong),))
    conn.commit()
    conn.close()
    report = verify(db)
    assert (report.problem.seq, report.problem.kind) == (3, "edited")


def test_rotation_keeps_old_records_verifiable(db, monkeypatch, capsys):
    use_keys(monkeypatch, KEY_A)
    write(db, 3)
    use_keys(monkeypatch, KEY_B, old=KEY_A)
    write(db, 2, start=3)
    id_a, id_b = key_id_of(KEY_A.encode()), key_id_of(KEY_B.encode())
    report = verify(db)
    assert report.ok and report.records == 5
    assert report.key_spans == ((id_a, 1, 3), (id_b, 4, 5))
    assert relais_main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("audit trail intact: 5 records; head #5 ")
    assert f"#1-#3 sealed with key {id_a}, #4-#5 sealed with key {id_b}" in out
    use_keys(monkeypatch, KEY_B)  # the retired key forgotten: its records cannot be checked
    report = verify(db)
    assert (report.problem.seq, report.problem.kind) == (1, "unverifiable")
    assert id_a in report.problem.detail and "RELAIS_AUDIT_OLD_KEYS" in report.problem.detail


def test_a_retired_key_cannot_seal_records_after_a_newer_one(db, monkeypatch):
    use_keys(monkeypatch, KEY_A)
    write(db, 2)
    use_keys(monkeypatch, KEY_B, old=KEY_A)
    write(db, 2, start=2)
    use_keys(monkeypatch, KEY_A, old=KEY_B)  # whoever kept the old key appends a record with it
    write(db, 1, start=4)
    report = verify(db)
    assert (report.problem.seq, report.problem.kind) == (5, "edited")
    assert "retired earlier in the chain" in report.problem.detail


def test_the_generated_key_keeps_verifying_after_moving_to_the_environment(db, monkeypatch):
    write(db, 2)  # sealed with the generated key file
    use_keys(monkeypatch, KEY_A)
    write(db, 2, start=2)
    report = verify(db)
    assert report.ok and [span[1:] for span in report.key_spans] == [(1, 2), (3, 4)]


def legacy_trail(db: Path, count: int) -> None:
    """A trail as the previous Relais wrote it: no key_id column, plain sha256 chain."""
    AuditLog(f"sqlite:///{db}").engine()  # today's schema, then back to yesterday's
    conn = sqlite3.connect(db)
    conn.execute("DROP INDEX IF EXISTS ix_audit_records_request_id")
    conn.execute("ALTER TABLE audit_records DROP COLUMN key_id")
    conn.execute("DROP TABLE relais_schema_migrations")  # it predates schema versioning too
    previous = "0" * 64
    for n in range(count):
        values = {"seq": n + 1, "ts": (T0 + timedelta(minutes=n)).isoformat(timespec="microseconds"),
                  "request_id": f"old-{n}", "user_id": "u-0", "groups": "[]", "requested_model": "relais-auto",
                  "agent": "general", "route_method": None, "route_confidence": None, "model": None, "provider": None,
                  "destination": None, "guard": "null", "tokens_in": n, "tokens_out": 0, "latency_ms": None,
                  "energy_kwh": None, "co2_kg": None, "outcome": "ok", "message": None,
                  "request_sha256": sha256_text(f"q{n}"), "answer_sha256": None, "request_content": None,
                  "answer_content": None, "prev_hash": previous}
        values["row_hash"] = row_hash(values)
        conn.execute(f"INSERT INTO audit_records ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                     list(values.values()))
        previous = values["row_hash"]
    conn.commit()
    conn.close()


def test_a_trail_from_before_keying_is_upgraded_and_verified_once_its_legacy_part_is_named(db, monkeypatch, capsys):
    legacy_trail(db, 3)
    use_keys(monkeypatch, KEY_A)
    write(db, 2, start=3)  # the first write adds the key_id column; triggers still refuse changes
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        sqlite3.connect(db).execute("UPDATE audit_records SET tokens_out = 1 WHERE seq = 1")
    report = verify(db)
    assert (report.problem.seq, report.problem.kind) == (1, "edited")
    assert "RELAIS_AUDIT_UNKEYED_UNTIL" in report.problem.detail
    report = verify(db, unkeyed_until=3)
    assert report.ok and report.records == 5 and report.unkeyed == 3
    assert report.key_spans == ((key_id_of(KEY_A.encode()), 4, 5),)
    monkeypatch.setenv("RELAIS_AUDIT_UNKEYED_UNTIL", "3")
    get_settings.cache_clear()
    assert relais_main(["audit", "verify"]) == 0
    assert "#1-#3 legacy, unkeyed (plain sha256), #4-#5 sealed with key" in capsys.readouterr().out


def test_legacy_records_stay_protected_by_the_first_keyed_record(db, monkeypatch):
    legacy_trail(db, 3)
    use_keys(monkeypatch, KEY_A)
    write(db, 2, start=3)
    conn = without_triggers(db)
    conn.execute("UPDATE audit_records SET user_id = 'someone-else' WHERE seq = 2")
    rechain_with_sha256(conn, 2)  # recomputes #2 and #3 as legacy, and #4 (keyed) as plain sha256
    conn.close()
    report = verify(db, unkeyed_until=3)
    assert (report.problem.seq, report.problem.kind) == (4, "edited")
    assert "without the key" in report.problem.detail


def test_keyed_records_cannot_pass_as_legacy(db, monkeypatch):
    legacy_trail(db, 3)
    use_keys(monkeypatch, KEY_A)
    write(db, 2, start=3)
    conn = without_triggers(db)
    conn.execute("UPDATE audit_records SET tokens_out = 7 WHERE seq = 5")
    rechain_with_sha256(conn, 4, strip_key_ids=True)
    conn.close()
    report = verify(db, unkeyed_until=3)
    assert (report.problem.seq, report.problem.kind) == (4, "edited")
    assert "carries no key" in report.problem.detail


def test_two_rotations_verify_with_every_retired_key_listed(db, monkeypatch):
    key_c = "d" * 16 + "00112233445566778899aabbccddeeff"
    use_keys(monkeypatch, KEY_A)
    write(db, 1)
    use_keys(monkeypatch, KEY_B, old=KEY_A)
    write(db, 1, start=1)
    use_keys(monkeypatch, key_c, old=f"{KEY_A}, {KEY_B}")
    write(db, 1, start=2)
    assert [key_id for key_id, _first, _last in verify(db).key_spans] == [
        key_id_of(KEY_A.encode()), key_id_of(KEY_B.encode()), key_id_of(key_c.encode())]
