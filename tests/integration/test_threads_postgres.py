"""Threads on a real PostgreSQL server (RELAIS_DATABASE_URL): a chat continued, branched, listed and pruned.

Uses the server at RELAIS_TEST_POSTGRES_URL (default: 127.0.0.1:5432, trust auth, database `test`,
as on python-svc and in CI) and a throw-away database per test, dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from relais.settings import get_settings
from relais.threads import list_threads, open_checkpointer, prune_threads, thread_id_for
from server.app import create_app
from server.threads import CHAT_ID_HEADER
from tests.fakes.postgres import throwaway_database

pytestmark = pytest.mark.integration



@pytest.fixture
def database_url(monkeypatch) -> Iterator[str]:
    """A fresh database on the running server; RELAIS_DATABASE_URL points at it."""
    with throwaway_database("relais_threads") as url:
        monkeypatch.setenv("RELAIS_DATABASE_URL", url)
        monkeypatch.setenv("RELAIS_AUDIT_KEY", "t" * 32)  # the audit trail is in that database too: one key
        monkeypatch.setenv("RELAIS_TRUST_USER_HEADERS", "true")
        get_settings.cache_clear()
        yield url


def test_a_chat_is_kept_branched_and_pruned_in_postgres(database_url, scripted_models):
    scripted_models.queue("fast", "Réponse un.", "Réponse deux.", "Réponse deux bis.")
    app = create_app()
    assert type(app.state.threads.inner).__name__ == "PostgresSaver"
    with TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 50000)) as client:
        def post(*texts):
            messages = [{"role": "assistant" if i % 2 else "user", "content": text} for i, text in enumerate(texts)]
            response = client.post("/v1/chat/completions", json={"model": "relais-general", "messages": messages},
                                   headers={"X-OpenWebUI-User-Id": "alice", CHAT_ID_HEADER: "pg-chat"})
            assert response.status_code == 200, response.text
            return response.json()["choices"][0]["message"]["content"]

        first = post("Question un")
        post("Question un", first, "Question deux")
        post("Question un", first, "Question deux, corrigée")
    graph = app.state.threaded_graph
    config = {"configurable": {"thread_id": thread_id_for("alice", "pg-chat")}}
    assert [m.text for m in graph.get_state(config).values["messages"]] == [
        "Question un", "Réponse un.", "Question deux, corrigée", "Réponse deux bis."]
    ends = {tuple(m.text for m in s.values["messages"]) for s in graph.get_state_history(config) if not s.next}
    assert ("Question un", "Réponse un.", "Question deux", "Réponse deux.") in ends
    saver = open_checkpointer()  # a second process (the CLI) sees the same thread
    assert [(s.user_id, s.chat_id) for s in list_threads(saver)] == [("alice", "pg-chat")]
    assert prune_threads(saver, 1, now=datetime.now(UTC) + timedelta(days=2))
    assert list_threads(saver) == []
