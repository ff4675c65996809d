"""Approval before a deliverable is final: the procedures and computer-validation agents pause on a
thread until « valider ».

Through the HTTP API with a forwarded Open WebUI user and the scripted fake model, as Open WebUI
sends the conversation: each turn carries the whole visible history and the chat id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from relais.approval import NOTHING_PENDING, approval_request, is_approval
from relais.documents import export_path
from server.app import create_app
from server.threads import CHAT_ID_HEADER
from tests.fakes.openwebui_rag import rag_user_message
from tests.unit.test_agent_procedures import DRAFT, NOTES, _exported_path
from tests.unit.test_agent_validation import EXTRACT, FMEA, SPECIFICATION, TESTS, URS, _exports

REDRAFT = {**DRAFT, "steps": [*DRAFT["steps"], {"actor": "Opérateur de production", "action": "Sécher la cuve."}]}
PACKAGE_REQUEST = "Rédige l'URS, l'AMDEC et les scripts IQ/OQ/PQ du LIMS"
FMEA_REQUEST = "Fais l'AMDEC du LIMS"
BACKUP_ROW = {"requirement_refs": [], "function": "Sauvegarde", "failure_mode": "Sauvegarde non restaurable",
              "effect": "Perte de résultats", "cause": "Restauration jamais testée", "severity": 9, "occurrence": 2,
              "detectability": 5, "rpn": 12}  # the model's RPN is wrong again: 9×2×5 = 90
FMEA_REDRAFT = {**FMEA, "failure_modes": [*FMEA["failure_modes"], BACKUP_ROW]}
CHANGE = "Ajoute le mode de défaillance « sauvegarde non restaurable »."


@pytest.fixture
def retrieved():
    return []


@pytest.fixture
def client(monkeypatch, scripted_models, retrieved):
    """The API, the computer-validation agent searching a recorded fake instead of the GMP-guide index."""
    import agents.computer_validation as validation
    from graphs.supervisor import agent_graph
    from relais.settings import get_settings

    def retrieve(question, k):
        retrieved.append(question)
        return [EXTRACT]

    monkeypatch.setenv("RELAIS_TRUST_USER_HEADERS", "true")
    monkeypatch.setattr(validation, "SPEC", dataclasses.replace(validation.SPEC, retrieve=retrieve))
    get_settings.cache_clear()
    agent_graph.cache_clear()  # the agent graphs are built once per process: this test's spec must be used
    with TestClient(create_app(), raise_server_exceptions=False, client=("127.0.0.1", 50000)) as test_client:
        yield test_client
    agent_graph.cache_clear()  # before the spec is put back: later tests build the real agent again


def _post(client, history, chat="sop-chat", model="relais-procedures"):
    messages = [{"role": "assistant" if index % 2 else "user", "content": text} for index, text in enumerate(history)]
    headers = {"X-OpenWebUI-User-Id": "alice", CHAT_ID_HEADER: chat}
    response = client.post("/v1/chat/completions", json={"model": model, "messages": messages}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def _validation(client, history, chat="csv-chat"):
    return _post(client, history, chat=chat, model="relais-computer-validation")


def _approvals(capsys):
    """The approval events of the audit trail, as `relais audit tail` prints them."""
    from cli.main import main

    capsys.readouterr()
    assert main(["audit", "tail", "--n", "20"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [event for record in records for event in ((record.get("guard") or {}).get("events") or [])
            if event.get("type") == "approval"]


def _approval_of(path, agent):
    return {"type": "approval", "file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "approved_by": "alice", "agent": agent}


def test_a_draft_waits_for_valider_is_redrafted_on_request_then_exported_and_audited(client, scripted_models, capsys):
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
    assert _approvals(capsys) == [_approval_of(path, "procedures")]


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


def test_the_choices_name_every_file_the_approval_yields():
    assert approval_request("Projet.", "Word (.docx)").endswith("pour obtenir le fichier Word (.docx), ou dites ce "
                                                                 "qu'il faut modifier et je reprendrai le projet "
                                                                 "(autant de fois que nécessaire).")
    assert "pour obtenir les fichiers Word (.docx) et Excel (.xlsx), ou" in \
        approval_request("Projet.", "Word (.docx)", "Excel (.xlsx)")


# --- the computer-validation agent ----------------------------------------------------------------------


def test_validation_deliverables_wait_for_valider_then_both_files_are_exported_and_each_is_audited(
        client, scripted_models, retrieved, capsys):
    scripted_models.queue("reasoning", URS, FMEA, TESTS)
    shown = _validation(client, [PACKAGE_REQUEST])
    # the deliverables as the user will get them, the choices naming both files, nothing exported yet
    assert "| URS-001 |" in shown and "| 8 | 3 | 7 | 168 | Élevé |" in shown and "OQ-01 — Audit trail" in shown
    assert "Matrice de traçabilité" in shown
    assert "« valider » pour obtenir les fichiers Word (.docx) et Excel (.xlsx)" in shown
    assert "Télécharger" not in shown and "📄" not in shown
    final = _validation(client, [PACKAGE_REQUEST, shown, "Je valide."])
    exports = _exports(final)
    assert set(exports) == {"docx", "xlsx"} and all(path.exists() for path in exports.values())
    assert load_workbook(exports["xlsx"]).sheetnames == ["URS", "AMDEC", "Traçabilité"]
    assert len(scripted_models.calls("reasoning")) == 3  # approving drafts nothing again
    assert len(retrieved) == 1 and retrieved[0].startswith(PACKAGE_REQUEST)
    assert _approvals(capsys) == [_approval_of(exports["docx"], "computer_validation"),
                                  _approval_of(exports["xlsx"], "computer_validation")]


def test_a_change_request_redrafts_with_the_tools_rpn_and_the_redraft_is_what_is_approved(
        client, scripted_models, capsys):
    scripted_models.queue("reasoning", FMEA, FMEA_REDRAFT)
    shown = _validation(client, [FMEA_REQUEST])
    assert "Sauvegarde non restaurable" not in shown and "« valider »" in shown
    changed = _validation(client, [FMEA_REQUEST, shown, CHANGE])
    # the redraft saw the draft it was shown and the change asked after it
    redraft_call = scripted_models.calls("reasoning")[-1]
    assert redraft_call[-1].text == CHANGE and "| 8 | 3 | 7 | 168 | Élevé |" in redraft_call[-2].text
    # the tools computed the new rows' RPN again: 9×2×5, not the 12 the model wrote
    assert "| RISK-05 | — | Sauvegarde | Sauvegarde non restaurable |" in changed
    assert "| 9 | 2 | 5 | 90 | Élevé |" in changed and "RISK-05 : 12 → 90 (9×2×5)" in changed
    assert "Télécharger" not in changed and "« valider »" in changed
    final = _validation(client, [FMEA_REQUEST, shown, CHANGE, changed, "valider"])
    exports = _exports(final)
    amdec = list(load_workbook(exports["xlsx"])["AMDEC"].iter_rows(values_only=True))
    rpn = amdec[0].index("RPN")
    assert [row[rpn] for row in amdec[1:6]] == [168, 48, 2, 20, 90]
    assert any("Sauvegarde non restaurable" in cell.text for table in Document(str(exports["docx"])).tables
               for row in table.rows for cell in row.cells)
    assert len(scripted_models.calls("reasoning")) == 2
    assert _approvals(capsys) == [_approval_of(exports["docx"], "computer_validation"),
                                  _approval_of(exports["xlsx"], "computer_validation")]


def test_valider_with_no_validation_draft_pending_says_so(client, scripted_models, retrieved):
    assert _validation(client, ["« Valider »"], chat="empty-csv-chat") == NOTHING_PENDING
    assert scripted_models.calls("reasoning") == [] and retrieved == []


def test_a_stateless_validation_request_exports_at_once_without_an_approval(client, scripted_models, capsys):
    scripted_models.queue("reasoning", FMEA)
    answer = _validation(client, [FMEA_REQUEST], chat="local:temporary")
    assert "« valider »" not in answer
    assert all(path.exists() for path in _exports(answer).values()) and set(_exports(answer)) == {"docx", "xlsx"}
    assert _approvals(capsys) == []


def test_an_attached_specification_stays_fenced_in_the_redraft_of_a_paused_urs(client, scripted_models, capsys):
    """Open WebUI wraps the first request in its RAG template once, then sends back only the user's words."""
    request = "Rédige l'URS du LIMS à partir de la spécification jointe"
    scripted_models.queue("reasoning", URS, URS)
    shown = _validation(client, [rag_user_message(request, [("specification-lims.pdf", SPECIFICATION)])])
    assert "| URS-001 |" in shown and "« valider »" in shown
    change = "Ajoute une exigence sur la sauvegarde."
    changed = _validation(client, [request, shown, change])
    assert "« valider »" in changed and "Télécharger" not in changed
    redraft = scripted_models.calls("reasoning")[-1]
    assert redraft[-1].text == change
    attached = next(message.text for message in redraft if "specification-lims.pdf" in message.text)
    assert SPECIFICATION in attached and "<donnees_externes" in attached
    assert "Respond to the user query" not in attached
    final = _validation(client, [request, shown, change, changed, "valider"])
    exports = _exports(final)
    assert _approvals(capsys) == [_approval_of(exports["docx"], "computer_validation"),
                                  _approval_of(exports["xlsx"], "computer_validation")]
