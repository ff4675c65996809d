"""The audit trail: records, hash chain, tampering detected, refusal when the database is unavailable."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli.main import main as relais_main
from server.audit import GENESIS_HASH, AuditEntry, AuditLog, AuditUnavailable, row_hash, sha256_text

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def entry(n: int = 0, **overrides) -> AuditEntry:
    values = dict(
        request_id=f"req-{n}", user_id="u-1", outcome="ok", groups=["QA", "Juridique"],
        requested_model="relais-auto", agent="procedures", route_method="embedding", route_confidence=0.82,
        model="mistral:mistral-small-latest", provider="mistral", destination="remote-eu",
        guard={"action": "allow", "findings": []}, tokens_in=120 + n, tokens_out=40, latency_ms=850.5,
        energy_kwh=0.0004, co2_kg=0.00002, request_content=f"Question {n} ?", answer_content=f"Réponse {n}.",
        timestamp=T0 + timedelta(minutes=n),
    )
    values.update(overrides)
    return AuditEntry(**values)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "var" / "audit.db"


@pytest.fixture
def log(db: Path):
    audit = AuditLog(f"sqlite:///{db}", lock_timeout_s=0.3)
    yield audit
    audit.close()


def fill(audit: AuditLog, count: int) -> list[str]:
    return [audit.record(entry(n)) for n in range(count)]


def raw(db: Path, *statements: str) -> None:
    """Tamper as someone with the database file would: drop the append-only triggers, then edit."""
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER IF EXISTS audit_records_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_records_no_delete")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def test_records_are_chained_and_read_back_exactly(log):
    hashes = fill(log, 3)
    rows = log.rows()
    assert [row.seq for row in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS_HASH
    assert [row.prev_hash for row in rows[1:]] == hashes[:2]
    assert [row.row_hash for row in rows] == hashes
    first = rows[0]
    assert first.ts == "2026-03-02T09:00:00.000000+00:00"
    assert first.groups == ("Juridique", "QA")
    assert first.guard == {"action": "allow", "findings": []}
    assert (first.tokens_in, first.tokens_out, first.latency_ms, first.energy_kwh) == (120, 40, 850.5, 0.0004)
    assert first.request_sha256 == sha256_text("Question 0 ?")
    assert first.answer_sha256 == sha256_text("Réponse 0.")
    stored = first.to_dict() | {"groups": '["Juridique", "QA"]', "guard": json.dumps(first.guard, sort_keys=True)}
    key = log.sealing_key()
    assert first.key_id == key.key_id and row_hash(stored, key) == first.row_hash
    assert row_hash(stored) != first.row_hash  # a plain sha256 does not reproduce the seal
    report = log.verify()
    assert report.ok and report.records == 3 and report.head_seq == 3 and report.head_hash == hashes[-1]


def test_content_is_kept_only_as_a_hash_unless_configured(db, tmp_path):
    plain = AuditLog(f"sqlite:///{db}")
    plain.record(entry(0))
    assert plain.rows()[0].request_content is None and plain.rows()[0].answer_content is None
    kept = AuditLog(f"sqlite:///{tmp_path / 'kept.db'}", store_content=True)
    kept.record(entry(0))
    assert (kept.rows()[0].request_content, kept.rows()[0].answer_content) == ("Question 0 ?", "Réponse 0.")
    assert kept.verify().ok


def test_from_settings_uses_the_data_dir_and_the_content_setting(monkeypatch, tmp_path):
    from relais.settings import get_settings

    monkeypatch.setenv("RELAIS_AUDIT_STORE_CONTENT", "true")
    get_settings.cache_clear()
    audit = AuditLog.from_settings()
    audit.record(entry(0))
    assert (tmp_path / "var" / "audit.db").is_file()
    assert audit.rows()[0].request_content == "Question 0 ?"


def test_rows_filter_by_user_agent_outcome_and_period(log):
    fill(log, 4)
    log.record(entry(10, user_id="u-2", agent="code", outcome="refused", message="guard"))
    assert [row.request_id for row in log.rows(user_id="u-2")] == ["req-10"]
    assert len(log.rows(agent="procedures")) == 4
    assert [row.seq for row in log.rows(outcome="refused")] == [5]
    period = log.rows(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3))
    assert [row.request_id for row in period] == ["req-1", "req-2"]
    assert [row.seq for row in log.rows(limit=2, newest_first=True)] == [5, 4]


def test_records_cannot_be_updated_or_deleted_through_sql(log, db):
    fill(log, 2)
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit_records SET tokens_out = 1 WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit_records WHERE seq = 1")
    conn.close()


def test_an_edited_record_is_found(log, db):
    fill(log, 5)
    raw(db, "UPDATE audit_records SET tokens_out = 4 WHERE seq = 3")
    report = log.verify()
    assert not report.ok
    assert (report.problem.seq, report.problem.kind) == (3, "edited")
    assert report.records == 2


def test_an_edited_and_rehashed_record_is_found_by_its_seal(log, db):
    fill(log, 5)
    row = log.rows()[2].to_dict()
    row.update(user_id="someone-else", groups='["Juridique", "QA"]', guard=json.dumps(row["guard"], sort_keys=True))
    forged = row_hash(row)
    raw(db, f"UPDATE audit_records SET user_id = 'someone-else', row_hash = '{forged}' WHERE seq = 3")
    report = log.verify()
    assert (report.problem.seq, report.problem.kind) == (3, "edited")
    assert "without the key" in report.problem.detail


@pytest.mark.parametrize(("deleted", "reported"), [(3, 3), (1, 1), ("2, 3", 2)])
def test_a_deleted_record_is_found(log, db, deleted, reported):
    fill(log, 5)
    raw(db, f"DELETE FROM audit_records WHERE seq IN ({deleted})")
    report = log.verify()
    assert (report.problem.seq, report.problem.kind) == (reported, "deleted")


def test_an_edited_stored_text_is_found(tmp_path):
    db = tmp_path / "kept.db"
    audit = AuditLog(f"sqlite:///{db}", store_content=True)
    fill(audit, 3)
    raw(db, "UPDATE audit_records SET answer_content = 'autre chose' WHERE seq = 2")
    assert (audit.verify().problem.seq, audit.verify().problem.kind) == (2, "edited")


def test_the_chain_continues_after_a_restart(db):
    first = AuditLog(f"sqlite:///{db}")
    fill(first, 2)
    first.close()
    second = AuditLog(f"sqlite:///{db}")
    second.record(entry(7))
    assert second.verify().ok and second.verify().records == 3


def test_concurrent_threads_never_fork_the_chain(log):
    def write(worker: int) -> None:
        for n in range(15):
            log.record(entry(worker * 100 + n))

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = log.verify()
    assert report.ok and report.records == 60


WRITER = """
import sys
from server.audit import AuditEntry, AuditLog
log = AuditLog(sys.argv[1], lock_timeout_s=30)
for n in range(20):
    log.record(AuditEntry(request_id=f"{sys.argv[2]}-{n}", user_id="u", outcome="ok"))
"""


def test_concurrent_processes_never_fork_the_chain(db):
    AuditLog(f"sqlite:///{db}").verify()  # create the schema once (no key yet: both writers race to generate it)
    assert not (db.parent / "audit.key").exists()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, f"sqlite:///{db}", f"p{i}"], cwd=REPO)
               for i in range(2)]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    report = AuditLog(f"sqlite:///{db}").verify()
    assert report.ok and report.records == 40
    [(_key_id, first, last)] = report.key_spans  # one key, whichever process generated it
    assert (first, last) == (1, 40)


def test_a_locked_database_refuses_the_record(log, db):
    fill(log, 1)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(AuditUnavailable, match="locked.*refused rather than served unaudited"):
            log.record(entry(1))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    log.record(entry(1))
    assert log.verify().records == 2


def test_ensure_writable_checks_the_lock_before_serving(log, db):
    log.ensure_writable()
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(AuditUnavailable, match="locked"):
            log.ensure_writable()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert log.verify().records == 0


def test_the_server_answers_503_when_the_audit_is_unavailable(log, db):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from server.errors import audit_unavailable_handler

    app = FastAPI()
    app.add_exception_handler(AuditUnavailable, audit_unavailable_handler)

    @app.post("/chat")
    def chat() -> dict:
        log.ensure_writable()
        return {"ok": True}

    client = TestClient(app)
    assert client.post("/chat").status_code == 200
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        response = client.post("/chat")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "audit_unavailable" and "unaudited" in error["message"]


def test_an_unreachable_database_refuses_the_record(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(AuditUnavailable):
        AuditLog(f"sqlite:///{not_a_folder / 'audit.db'}").record(entry(0))
    remote = AuditLog("postgresql+psycopg://relais:s3cret@127.0.0.1:1/audit")
    with pytest.raises(AuditUnavailable) as caught:
        remote.record(entry(0))
    assert "s3cret" not in str(caught.value)


def test_bad_entries_are_rejected(log):
    with pytest.raises(ValueError, match="outcome"):
        log.record(entry(0, outcome="maybe"))
    with pytest.raises(ValueError, match="destination"):
        log.record(entry(0, destination="us-east"))


def test_cli_verify_and_tail(capsys, tmp_path):
    audit = AuditLog.from_settings()
    fill(audit, 3)
    assert relais_main(["audit", "verify"]) == 0
    assert "intact: 3 records" in capsys.readouterr().out
    assert relais_main(["audit", "tail", "--n", "2"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["seq"] for line in lines] == [2, 3]
    raw(tmp_path / "var" / "audit.db", "UPDATE audit_records SET agent = 'code' WHERE seq = 2")
    assert relais_main(["audit", "verify"]) == 1
    assert "BROKEN at record #2 (edited)" in capsys.readouterr().out


def test_cli_verify_on_an_empty_trail(capsys):
    assert relais_main(["audit", "verify"]) == 0
    assert "no records yet" in capsys.readouterr().out


def test_a_streamed_request_counts_once_in_rows_and_usage(log):
    from cli.commands.usage import summarise

    log.record(entry(0, outcome="started", agent=None, tokens_in=0, tokens_out=0, answer_content=None))
    log.record(entry(1))  # a non-streamed request in between
    log.record(entry(0, timestamp=T0 + timedelta(minutes=2)))  # the outcome of req-0
    log.record(entry(2, outcome="started", answer_content=None))  # never finished
    assert [(row.request_id, row.outcome) for row in log.rows(per_request=False)] == [
        ("req-0", "started"), ("req-1", "ok"), ("req-0", "ok"), ("req-2", "started")]
    assert [(row.request_id, row.outcome) for row in log.rows()] == [("req-1", "ok"), ("req-0", "ok"),
                                                                    ("req-2", "started")]
    assert [row.request_id for row in log.rows(outcome="started")] == ["req-2"]
    assert [row.seq for row in log.rows(limit=2, newest_first=True)] == [4, 3]
    [total] = summarise(log.rows(), "user")
    assert (total.requests, total.ok, total.errors, total.tokens_in) == (3, 2, 0, 120 + 121 + 122)


def test_cli_tail_shows_both_records_of_a_streamed_request(capsys):
    audit = AuditLog.from_settings()
    audit.record(entry(0, outcome="started", answer_content=None))
    audit.record(entry(0))
    assert relais_main(["audit", "tail"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["request_id"], line["outcome"]) for line in lines] == [("req-0", "started"), ("req-0", "ok")]


def test_cli_verify_against_a_kept_head(capsys, tmp_path):
    audit = AuditLog.from_settings()
    fill(audit, 4)
    assert relais_main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("audit trail intact: 4 records; head #4 ")
    kept = out.split("--kept-head ")[1].split("`")[0]
    assert kept.startswith("4:")
    assert relais_main(["audit", "verify", "--kept-head", kept]) == 0
    raw(tmp_path / "var" / "audit.db", "DELETE FROM audit_records WHERE seq = 4")  # truncation: the rest holds
    assert relais_main(["audit", "verify"]) == 0
    capsys.readouterr()
    assert relais_main(["audit", "verify", "--kept-head", kept]) == 1
    assert "BROKEN at record #4 (deleted): the kept head #4 is missing" in capsys.readouterr().out
    wrong_seal = kept[:-4] + ("0000" if not kept.endswith("0000") else "1111")
    assert relais_main(["audit", "verify", "--kept-head", "3:" + wrong_seal.split(":")[1]]) == 1
    assert "BROKEN at record #3 (edited)" in capsys.readouterr().out
