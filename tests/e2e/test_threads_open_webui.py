"""Threads and approvals through the real Open WebUI: its chat id reaches Relais as `X-OpenWebUI-Chat-Id`.

Each turn is posted the way Open WebUI's own front end does on a saved chat (`chat_id`, the user
message with its id and parent, the assistant message id to fill), so Open WebUI records the turn and
forwards the chat id with the signed user. A procedures draft pauses, « valider » on the next turn
exports the .docx and writes the approval (who, SHA-256) into the audit trail; an edited first
message starts a new branch of the same thread instead of mixing the two histories.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import httpx
import pytest

from cli import main as cli
from relais.settings import get_settings
from server.app import create_app
from tests.e2e.conftest import (
    ADMIN_EMAIL,
    OPENWEBUI_JWT_SECRET,
    OPENWEBUI_KEY,
    OpenWebUIAccounts,
    OpenWebUIUser,
    ThreadedServer,
)
from tests.unit.test_agent_procedures import DRAFT, NOTES, _exported_path

pytestmark = pytest.mark.e2e

POLICY = f"""
[default]
labels = ["general"]

[groups.Qualite]
labels = ["procedures"]

[users]
"{ADMIN_EMAIL}" = ["Qualite"]
"""
EDITED_NOTES = NOTES.replace("cuve C-12", "cuve C-40")
EDITED_DRAFT = {**DRAFT, "title": "Nettoyage de la cuve C-40"}


@pytest.fixture
def relais(scripted_models, tmp_path: Path, monkeypatch, relais_port):
    """Relais as deployed behind Open WebUI (signed user, a policy, its own audit and threads)."""
    policy = tmp_path / "access.toml"
    policy.write_text(POLICY, encoding="utf-8")
    monkeypatch.setenv("RELAIS_API_KEYS", OPENWEBUI_KEY)
    monkeypatch.setenv("RELAIS_OPENWEBUI_JWT_SECRET", OPENWEBUI_JWT_SECRET)
    monkeypatch.setenv("RELAIS_ACCESS_POLICY", str(policy))
    monkeypatch.setenv("RELAIS_AUDIT_URL", f"sqlite:///{tmp_path / 'audit.db'}")
    monkeypatch.delenv("RELAIS_TRUST_USER_HEADERS", raising=False)
    get_settings.cache_clear()
    with ThreadedServer(create_app(), relais_port) as server:
        yield server


class OpenWebUIChat:
    """One saved Open WebUI chat, continued turn by turn as its front end does."""

    def __init__(self, openwebui: str, user: OpenWebUIUser, model: str) -> None:
        self.openwebui, self.user, self.model = openwebui, user, model
        body = {"chat": {"title": "SOP", "models": [model], "messages": [],
                         "history": {"messages": {}, "currentId": None}}}
        response = httpx.post(f"{openwebui}/api/v1/chats/new", json=body, headers=user.headers, timeout=30)
        assert response.status_code == 200, response.text
        self.id = response.json()["id"]

    def send(self, history: list[str], parent_id: str | None) -> tuple[str, str]:
        """Post the visible history (user, assistant, ..., user); returns (answer, the answer's message id)."""
        user_id, answer_id = str(uuid.uuid4()), str(uuid.uuid4())
        messages = [{"role": "assistant" if index % 2 else "user", "content": text}
                    for index, text in enumerate(history)]
        body = {"model": self.model, "stream": False, "chat_id": self.id, "id": answer_id, "parent_id": parent_id,
                "user_message": {"id": user_id, "parentId": parent_id, "role": "user", "content": history[-1],
                                 "childrenIds": [], "timestamp": 0},
                "messages": messages}
        response = httpx.post(f"{self.openwebui}/api/chat/completions", json=body, headers=self.user.headers,
                              timeout=120)
        assert response.status_code == 200, response.text
        return response.json()["choices"][0]["message"]["content"], answer_id


def _approvals(capsys) -> list[dict]:
    capsys.readouterr()
    assert cli.main(["audit", "tail", "--n", "50"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    return [event for record in records for event in ((record.get("guard") or {}).get("events") or [])
            if event.get("type") == "approval"]


def test_a_procedures_chat_pauses_then_is_approved_with_the_docx_audited(
        relais, openwebui, openwebui_accounts: OpenWebUIAccounts, scripted_models, capsys):
    scripted_models.queue("drafting", DRAFT)
    chat = OpenWebUIChat(openwebui, openwebui_accounts.admin, "relais-procedures")
    shown, answer_id = chat.send([NOTES], parent_id=None)
    assert "# Nettoyage de la cuve C-12" in shown and "« valider »" in shown and "Télécharger" not in shown

    final, _ = chat.send([NOTES, shown, "valider"], parent_id=answer_id)
    path = _exported_path(final)
    assert path.exists(), final
    assert len(scripted_models.calls("drafting")) == 1  # approving re-drafts nothing
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert _approvals(capsys) == [{"type": "approval", "file": path.name, "sha256": digest,
                                   "approved_by": openwebui_accounts.admin.id, "agent": "procedures"}]


def test_an_edited_first_message_branches_the_thread(
        relais, openwebui, openwebui_accounts: OpenWebUIAccounts, scripted_models):
    scripted_models.queue("drafting", DRAFT, EDITED_DRAFT)
    chat = OpenWebUIChat(openwebui, openwebui_accounts.admin, "relais-procedures")
    shown, _ = chat.send([NOTES], parent_id=None)
    assert "cuve C-12" in shown
    # The user edits the first message: Open WebUI sends a sibling of it, and only the new branch.
    edited, _ = chat.send([EDITED_NOTES], parent_id=None)
    assert "# Nettoyage de la cuve C-40" in edited
    conversation = " ".join(message.text for message in scripted_models.calls("drafting")[-1]
                            if message.type != "system")  # the prompt's own example names cuve C-12
    assert "cuve C-40" in conversation and "cuve C-12" not in conversation  # the old branch is not mixed in
