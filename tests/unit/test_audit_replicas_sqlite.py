"""Several processes on one SQLite audit file: migrated once, one intact chain (the PostgreSQL proof, smaller).

Each process is spawned (tests/fakes/replica_processes.py), as two Relais processes on one machine would be.
"""

from __future__ import annotations

from pathlib import Path

from cli.main import main as relais_main
from relais.settings import get_settings
from server.audit_migrations import MIGRATIONS
from tests.fakes.replica_processes import TEST_KEY, audit_log, open_audit, run_together, write_records

WRITERS, RECORDS_PER_WRITER = 4, 50


def use_trail(monkeypatch, db: Path) -> str:
    url = f"sqlite:///{db}"
    monkeypatch.setenv("RELAIS_AUDIT_URL", url)
    monkeypatch.setenv("RELAIS_AUDIT_KEY", TEST_KEY)
    get_settings.cache_clear()
    return url


def test_the_default_trail_is_sqlite_in_the_data_folder(tmp_path):
    assert get_settings().audit_database_url == f"sqlite:///{(tmp_path / 'var' / 'audit.db').resolve()}"


def test_two_processes_opening_a_new_sqlite_trail_together_migrate_it_once(tmp_path, monkeypatch):
    url = use_trail(monkeypatch, tmp_path / "audit.db")
    applied = run_together(open_audit, [(url,), (url,)])
    assert sorted(applied) == [[], [migration.version for migration in MIGRATIONS]]


def test_four_writer_processes_keep_one_intact_chain_in_sqlite(tmp_path, monkeypatch, capsys):
    url = use_trail(monkeypatch, tmp_path / "audit.db")
    run_together(write_records, [(url, writer, RECORDS_PER_WRITER) for writer in range(WRITERS)])
    total = WRITERS * RECORDS_PER_WRITER
    assert relais_main(["audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith(f"audit trail intact: {total} records; head #{total} ")
    log = audit_log(url)
    rows = log.rows(per_request=False)
    assert [row.seq for row in rows] == list(range(1, total + 1))
    assert {row.request_id for row in rows} == {f"w{w}-{n}" for w in range(WRITERS) for n in range(RECORDS_PER_WRITER)}
    log.close()
