"""Approval before a deliverable is final: the procedures agent pauses on a thread until « valider ».

Through the HTTP API with a forwarded Open WebUI user and the scripted fake model, as Open WebUI
sends the conversation: each turn carries the whole visible history and the chat id.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from fastapi.testclient import TestClient

from relais.approval import NOTHING_PENDING, is_approval
from relais.documents import export_path
from server.app import create_app
from server.threads import CHAT_ID_HEADER
from tests.unit.test_agent_procedures import DRAFT, NOTES, _exported_path

REDRAFT = {**DRAFT, "steps": [*DRAFT["steps"], {"actor": "Opérateur de production", "action": "Sécher la cuve."}]}


@pytest.fixture
def client(monkeypatch, scripted_models):
    monkeypatch.setenv("RELAIS_TRUST_USER_HEADERS", "true")
    from relais.settings import get_settings

    get_settings.cache_clear()
    with TestClient(create_app(), raise_server_exceptions=False, client=("127.0.0.1", 50000)) as test_client:
        yield test_client


def _post(client, history, chat="sop-chat"):
    messages = [{"role": "assistant" if index % 2 else "user", "content": text} for index, text in enumerate(history)]
    headers = {"X-OpenWebUI-User-Id": "alice", CHAT_ID_HEADER: chat}
    response = client.post("/v1/chat/completions", json={"model": "relais-procedures", "messages": messages},
                           headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def test_a_draft_waits_for_valider_is_redrafted_on_request_then_exported_and_audited(client, scripted_models, capsys):
    from cli.main import main

    scripted_models.queue("drafting", DRAFT, REDRAFT)
    shown = _post(client, [NOTES])
    assert "# Nettoyage de la cuve C-12" in shown and "« valider »" in shown
    assert "Télécharger" not in shown  # nothing exported before the approval
    changed = _post(client, [NOTES, shown, "Ajoute une étape de séchage à la fin."])
    assert "Sécher la cuve." in changed and "« valider »" in changed and "Télécharger" not in changed
    # The redraft saw the change the user asked for, after the draft it was shown.
    assert "Ajoute une étape de séchage" in scripted_models.calls("drafting")[-1][-1].text
    final = _post(client, [NOTES, shown, "Ajoute une étape de séchage à la fin.", changed, "Valider"])
    path = _exported_path(final)
    assert path.exists() and "Sécher la cuve." in final
    assert main(["audit", "tail", "--n", "20"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    approvals = [event for record in records for event in ((record.get("guard") or {}).get("events") or [])
                 if event.get("type") == "approval"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert approvals == [{"type": "approval", "file": path.name, "sha256": digest, "approved_by": "alice",
                          "agent": "procedures"}]


def test_valider_with_nothing_pending_exports_nothing(client, scripted_models):
    assert _post(client, ["valider"], chat="empty-chat") == NOTHING_PENDING
    assert scripted_models.calls("drafting") == []


def test_a_stateless_request_exports_at_once(client, scripted_models):
    scripted_models.queue("drafting", DRAFT)
    answer = _post(client, [NOTES], chat="local:temporary")
    assert export_path(*_exported_path(answer).parts[-2:]).exists()


def test_what_counts_as_an_approval():
    assert all(is_approval(text) for text in ("valider", "« Valider »", "Je valide.", "VALIDER !"))
    assert not any(is_approval(text) for text in ("valider la section 3 ?", "ne pas valider", ""))
