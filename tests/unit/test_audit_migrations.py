"""The audit database's schema versions (server/audit_migrations.py), on SQLite."""

from __future__ import annotations

import sqlite3

import pytest

from server import audit_migrations
from server.audit import AuditLog, AuditUnavailable
from server.audit_migrations import MIGRATIONS, Migration


def versions(db) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM relais_schema_migrations ORDER BY version")]


def test_a_new_trail_records_every_version_once_and_a_second_opening_applies_none(tmp_path):
    db = tmp_path / "audit.db"
    first = AuditLog(f"sqlite:///{db}")
    first.engine()
    assert first.applied_migrations == [migration.version for migration in MIGRATIONS]
    second = AuditLog(f"sqlite:///{db}")
    second.engine()
    assert second.applied_migrations == []
    assert versions(db) == [migration.version for migration in MIGRATIONS]
    first.close(), second.close()


def test_an_up_to_date_trail_opens_while_another_process_holds_the_write_lock(tmp_path):
    db = tmp_path / "audit.db"
    AuditLog(f"sqlite:///{db}").engine()
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a long write elsewhere: `relais audit verify` must still read
    reader = AuditLog(f"sqlite:///{db}", lock_timeout_s=0.2)
    assert reader.verify().ok
    writer.execute("ROLLBACK")
    reader.close()


def test_a_failing_migration_leaves_nothing_behind_and_the_next_start_migrates_again(tmp_path, monkeypatch):
    db = tmp_path / "audit.db"
    AuditLog(f"sqlite:///{db}").engine()

    def half_done(conn):
        conn.exec_driver_sql("CREATE TABLE half_done (id INTEGER)")
        conn.exec_driver_sql("INSERT INTO no_such_table VALUES (1)")  # the step fails midway

    monkeypatch.setattr(audit_migrations, "MIGRATIONS", (*MIGRATIONS, Migration(99, "fails", half_done)))
    with pytest.raises(AuditUnavailable, match="cannot be opened: .*no such table: no_such_table"):
        AuditLog(f"sqlite:///{db}").engine()
    with sqlite3.connect(db) as conn:  # DDL and version rolled back together
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchall() == []
    assert 99 not in versions(db)
    monkeypatch.setattr(audit_migrations, "MIGRATIONS", (*MIGRATIONS, Migration(3, "works", lambda conn: None)))
    retried = AuditLog(f"sqlite:///{db}")
    retried.engine()
    assert retried.applied_migrations == [3]
    retried.close()


def test_a_trail_migrated_by_a_newer_relais_is_refused_with_what_to_do(tmp_path):
    db = tmp_path / "audit.db"
    AuditLog(f"sqlite:///{db}").engine()
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO relais_schema_migrations VALUES (999, 'from the future', '2030-01-01')")
    with pytest.raises(AuditUnavailable, match="schema version 999, newer than this Relais knows"):
        AuditLog(f"sqlite:///{db}").engine()
