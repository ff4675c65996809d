"""Several replicas on one PostgreSQL database (RELAIS_DATABASE_URL): schema, hash chain and usage stay one.

A replica starting also sets up the LangGraph checkpoint tables (relais/threads.py) in the same
database. Each replica is a spawned process (tests/fakes/replica_processes.py) on a throw-away database of the server
at 127.0.0.1:5432 (tests/fakes/postgres.py); no server means a failed test saying what to start.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from cli.main import main as relais_main
from relais.settings import get_settings
from server.audit import AuditEntry
from server.audit_migrations import MIGRATIONS
from tests.fakes.postgres import throwaway_database
from tests.fakes.replica_processes import TEST_KEY, audit_log, open_audit, run_together, start_replica, write_records

pytestmark = pytest.mark.integration

WRITERS, RECORDS_PER_WRITER = 4, 500


@pytest.fixture
def database_url(monkeypatch) -> Iterator[str]:
    """A fresh database; RELAIS_DATABASE_URL (the one URL of a scaled-out Relais) and the shared key point at it."""
    with throwaway_database("relais_replicas") as url:
        monkeypatch.delenv("RELAIS_AUDIT_URL", raising=False)
        monkeypatch.setenv("RELAIS_DATABASE_URL", url)
        monkeypatch.setenv("RELAIS_AUDIT_KEY", TEST_KEY)
        get_settings.cache_clear()
        yield url


def sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def test_the_audit_trail_lives_in_the_database_url_unless_the_audit_url_names_another(database_url, monkeypatch):
    assert get_settings().audit_database_url == sqlalchemy_url(database_url)
    monkeypatch.setenv("RELAIS_AUDIT_URL", "sqlite:////elsewhere/audit.db")
    get_settings.cache_clear()
    assert get_settings().audit_database_url == "sqlite:////elsewhere/audit.db"


def test_two_replicas_starting_together_on_a_fresh_database_migrate_it_once(database_url):
    url = sqlalchemy_url(database_url)
    # Checkpoints, then audit; one replica is given the URL in libpq's form, the other in SQLAlchemy's.
    applied = run_together(start_replica, [(database_url,), (url,)])
    assert sorted(applied) == [[], [migration.version for migration in MIGRATIONS]]  # one did all, the other none
    engine = create_engine(url)
    with engine.connect() as conn:
        checkpoint_versions = conn.execute(text("SELECT v FROM checkpoint_migrations ORDER BY v")).scalars().all()
        assert checkpoint_versions == list(range(len(checkpoint_versions))) and len(checkpoint_versions) > 1
        versions = conn.execute(text("SELECT version FROM relais_schema_migrations ORDER BY version")).scalars()
        assert list(versions) == [migration.version for migration in MIGRATIONS]
        triggers = conn.execute(text("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'audit_records_no_%'"))
        assert triggers.scalar() == 2
    engine.dispose()
    assert run_together(open_audit, [(url,)]) == [[]]  # a third replica, later: nothing left to apply


def test_four_writer_processes_keep_one_intact_chain_in_postgres(database_url, capsys):
    url = sqlalchemy_url(database_url)
    written = run_together(write_records, [(url, writer, RECORDS_PER_WRITER) for writer in range(WRITERS)])
    assert written == [RECORDS_PER_WRITER] * WRITERS
    total = WRITERS * RECORDS_PER_WRITER

    assert relais_main(["audit", "verify"]) == 0  # reads RELAIS_DATABASE_URL, as any replica's CLI would
    assert capsys.readouterr().out.startswith(f"audit trail intact: {total} records; head #{total} ")
    log = audit_log(url)
    rows = log.rows(per_request=False)
    assert [row.seq for row in rows] == list(range(1, total + 1))  # no gap, no duplicate
    assert {row.request_id for row in rows} == {f"w{w}-{n}" for w in range(WRITERS) for n in range(RECORDS_PER_WRITER)}
    assert len({row.user_id for row in rows[:100]}) > 1  # the writers really interleaved

    engine = log.engine()
    assert inspect(engine).get_pk_constraint("audit_records")["constrained_columns"] == ["seq"]
    with pytest.raises(IntegrityError, match="duplicate key"), engine.begin() as conn:  # a second #7 is refused
        first = conn.execute(text("SELECT * FROM audit_records WHERE seq = 7")).mappings().one()
        conn.execute(text(f"INSERT INTO audit_records ({', '.join(first)}) VALUES "
                          f"({', '.join(':' + name for name in first)})"),
                     {**first, "prev_hash": "1" * 64, "row_hash": "2" * 64})
    log.close()


def test_usage_figures_are_the_same_from_any_replica(database_url, capsys):
    url = sqlalchemy_url(database_url)
    run_together(write_records, [(url, 0, 3), (url, 1, 2)])  # two replicas served five requests
    here = audit_log(url)  # a third replica, in this process
    here.record(AuditEntry(request_id="here-1", user_id="user-1", outcome="refused", message="policy"))
    here.close()

    assert relais_main(["usage", "--by", "user", "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("user,requests,ok,errors,refused,tokens_in,tokens_out")
    assert lines[1].startswith("user-0,3,3,0,0,3,3,")  # tokens_in 0+1+2, one output token each
    assert lines[2].startswith("user-1,3,2,0,1,1,2,")
    assert run_together(usage_csv, [(database_url,)]) == ["\n".join(lines) + "\n"]  # another replica reads the same


def usage_csv(database_url: str) -> str:
    """`relais usage --by user --csv` as run on another replica pointed at the same RELAIS_DATABASE_URL."""
    import argparse
    import io
    import os

    from cli.commands import usage

    os.environ["RELAIS_DATABASE_URL"] = database_url
    os.environ.pop("RELAIS_AUDIT_URL", None)
    out = io.StringIO()
    usage.run(argparse.Namespace(by="user", since=None, until=None, csv=True), out)
    return out.getvalue()


def test_a_request_served_by_the_gateway_is_audited_in_the_database_url(database_url, scripted_models, monkeypatch,
                                                                          capsys):
    from fastapi.testclient import TestClient

    from server.app import create_app

    monkeypatch.setenv("RELAIS_TRUST_USER_HEADERS", "true")
    get_settings.cache_clear()
    scripted_models.queue("fast", "Réponse.")
    with TestClient(create_app(), raise_server_exceptions=False, client=("127.0.0.1", 50000)) as client:
        response = client.post("/v1/chat/completions", headers={"X-OpenWebUI-User-Id": "alice"},
                               json={"model": "relais-general", "messages": [{"role": "user", "content": "Bonjour"}]})
    assert response.status_code == 200, response.text
    log = audit_log(sqlalchemy_url(database_url))  # read straight from PostgreSQL, not through the gateway
    assert [(row.user_id, row.outcome) for row in log.rows()] == [("alice", "ok")]
    log.close()
    capsys.readouterr()  # drop what the gateway printed on start
    assert relais_main(["usage", "--by", "user", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("alice,1,1,0,0,")
