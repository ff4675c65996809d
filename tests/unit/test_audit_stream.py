"""A streamed answer through the real HTTP API: audited before its first byte, completed at its end.

The gateway runs in uvicorn on 127.0.0.1 and an httpx client reads the stream, so a paused stream
and a client that hangs up midway are the real thing, not a test client's buffered response.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.app import create_app
from server.audit import AuditRecord
from server.metrics import get_metrics
from tests.fakes.serving import ThreadedServer

INSERTS_FAIL = ("CREATE TRIGGER audit_insert_fails BEFORE INSERT ON audit_records "
                "BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END")


@pytest.fixture
def gateway(scripted_models, monkeypatch) -> Iterator[tuple[str, object]]:
    """The gateway served by uvicorn in a thread: (base URL, app)."""
    monkeypatch.setenv("RELAIS_AUDIT_LOCK_TIMEOUT_S", "0.5")
    app = create_app()
    with ThreadedServer(app, start_timeout_s=20) as server:
        yield server.url, app
    app.state.audit.close()


def _body(content: str = "Bonjour") -> dict:
    return {"model": "relais-general", "stream": True, "messages": [{"role": "user", "content": content}]}


def _records(app) -> list[AuditRecord]:
    return app.state.audit.rows(per_request=False)


def _audit_db(app) -> Path:
    return Path(app.state.audit.url.split("///", 1)[1])


def _events(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if line.startswith("data: "):
            yield line[len("data: "):]


def _requests_counted(agent: str, outcome: str) -> float:
    """Requests the process-wide metrics counted for this agent and outcome, whatever the destination."""
    metric = get_metrics().requests.collect()[0]
    return sum(sample.value for sample in metric.samples if sample.name == "relais_requests_total"
               and sample.labels["agent"] == agent and sample.labels["outcome"] == outcome)


def test_the_started_record_is_written_before_the_first_byte_and_completed_at_the_end(gateway, scripted_models):
    base_url, app = gateway
    gate = threading.Event()
    seen_by_model: list[list[tuple[str, str]]] = []

    def held_answer(messages):
        # What the trail holds while the answer is being written, before any of it was sent.
        seen_by_model.append([(record.request_id, record.outcome) for record in _records(app)])
        assert gate.wait(20), "the test never released the model"
        return "Voici une réponse assez longue pour être envoyée en plusieurs morceaux."

    scripted_models.queue("fast", held_answer)
    counted_before = _requests_counted("general", "ok")
    with httpx.Client(base_url=base_url, timeout=30) as client, \
            client.stream("POST", "/v1/chat/completions", json=_body()) as response:
        assert response.status_code == 200
        events = _events(response.iter_lines())
        first = json.loads(next(events))
        # The stream is paused (the model waits on the gate): its started record is already in the trail.
        [started] = _records(app)
        assert (started.request_id, started.outcome) == (first["id"], "started")
        assert started.user_id and started.requested_model == "relais-general" and started.agent == "general"
        assert started.tokens_out == 0 and started.answer_sha256 is None
        gate.set()
        rest = list(events)
    assert rest[-1] == "[DONE]"
    assert seen_by_model == [[(first["id"], "started")]]
    started_again, outcome = _records(app)
    assert started_again == started
    assert (outcome.request_id, outcome.outcome, outcome.agent, outcome.model) == (
        first["id"], "ok", "general", "fake:fast")
    assert outcome.tokens_out > 0 and outcome.answer_sha256 is not None
    assert [record.outcome for record in app.state.audit.rows()] == ["ok"]  # one request, counted once
    assert _requests_counted("general", "ok") == counted_before + 1
    assert app.state.audit.verify().ok


def test_a_client_that_hangs_up_midway_leaves_an_error_record(gateway, scripted_models):
    base_url, app = gateway
    scripted_models.set_latency(100)  # about 6 s of answer, word by word: the client leaves after the first
    scripted_models.queue("fast", " ".join(f"mot{n}" for n in range(60)))
    errors_before = _requests_counted("general", "error")
    with httpx.Client(base_url=base_url, timeout=30) as client, \
            client.stream("POST", "/v1/chat/completions", json=_body()) as response:
        events = _events(response.iter_lines())
        request_id = json.loads(next(events))["id"]
        while "mot0" not in next(events):  # the answer has begun
            pass
    # The connection is closed: the server notices, stops the run and records how it ended.
    deadline = time.monotonic() + 15
    while len(_records(app)) < 2:
        assert time.monotonic() < deadline, f"no outcome record after the disconnect: {_records(app)}"
        time.sleep(0.05)
    started, outcome = _records(app)
    assert started.request_id == outcome.request_id == request_id and started.outcome == "started"
    assert outcome.outcome == "error" and outcome.message == "client disconnected before the end of the answer"
    assert outcome.agent == "general"
    assert app.state.audit.verify().ok
    deadline = time.monotonic() + 5  # the metrics follow the record, in the same (shielded) step
    while _requests_counted("general", "error") < errors_before + 1:
        assert time.monotonic() < deadline, "the disconnected request was not counted in the metrics"
        time.sleep(0.05)


def test_an_audit_that_cannot_write_the_started_record_answers_503_and_nothing_else(gateway, scripted_models):
    base_url, app = gateway
    app.state.audit.ensure_writable()  # the trail exists and is not locked...
    conn = sqlite3.connect(_audit_db(app))
    conn.execute(INSERTS_FAIL)  # ...but no record can be added (a full disk, a broken file)
    conn.commit()
    conn.close()
    scripted_models.queue("fast", "ne doit jamais partir")
    response = httpx.post(f"{base_url}/v1/chat/completions", json=_body(), timeout=30)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == "audit_unavailable"
    assert "data:" not in response.text
    assert scripted_models.calls("fast") == []  # the model never ran
    assert _records(app) == []


def test_a_completion_that_cannot_be_written_is_logged_and_the_answer_ends_cleanly(gateway, scripted_models,
                                                                                    caplog):
    base_url, app = gateway
    gate = threading.Event()
    scripted_models.queue("fast", lambda messages: gate.wait(20) and "Réponse complète.")
    with caplog.at_level(logging.ERROR, logger="server.accounting"), \
            httpx.Client(base_url=base_url, timeout=30) as client, \
            client.stream("POST", "/v1/chat/completions", json=_body()) as response:
        events = _events(response.iter_lines())
        request_id = json.loads(next(events))["id"]
        conn = sqlite3.connect(_audit_db(app))
        conn.execute(INSERTS_FAIL)  # the trail breaks while the answer is being written
        conn.commit()
        conn.close()
        gate.set()
        rest = list(events)
    assert rest[-1] == "[DONE]"
    chunks = [json.loads(event) for event in rest[:-1]]
    assert "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk["choices"]) == (
        "Réponse complète.")
    assert f"request {request_id}: its answer was streamed but its outcome could not be audited" in caplog.text
    [started] = _records(app)
    assert (started.request_id, started.outcome) == (request_id, "started")
    assert [record.outcome for record in app.state.audit.rows()] == ["started"]  # unfinished, as far as we know
