"""A dead model is a failed run, through the HTTP API: 502 agent_failed, an audited error, never the source text."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi.testclient import TestClient

import agents.contract_clauses.graph as contract_clauses
from relais.settings import get_settings
from server.app import create_app

SOURCE = "Le pharmacien responsable certifie chaque lot avant sa libération sur le marché."
LIBRARY = [{"id": "AUDIT-01", "title": "AUDIT-01 — Droit d'audit BPF du donneur d'ordre", "type": "audit_bpf",
            "jurisdiction": "UE", "risk": "moyen", "text": "AUDIT-01 — Droit d'audit BPF\n\nX.1 Le Sous-traitant",
            "score": "0.03"}]
DEAD = [httpx.ConnectError("All connection attempts failed"), RuntimeError("model server answered 500")]


@pytest.fixture
def api(monkeypatch, scripted_models):
    monkeypatch.setenv("RELAIS_AUDIT_STORE_CONTENT", "true")  # so the test can see what answer was recorded
    monkeypatch.setattr(contract_clauses, "find_library_clauses", lambda question, k: LIBRARY[:k])
    get_settings.cache_clear()
    app = create_app()
    with TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 50000)) as client:
        yield client, app


def chat(client, model: str, text: str, stream: bool = False):
    body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": text}]}
    return client.post("/v1/chat/completions", json=body)


def events(response) -> list[dict]:
    return [json.loads(line.removeprefix("data: ")) for line in response.text.splitlines()
            if line.startswith("data: {")]


@pytest.mark.parametrize("failure", DEAD, ids=type)
def test_a_dead_translation_model_is_a_502_and_an_audited_error(api, scripted_models, failure):
    client, app = api
    scripted_models.queue("translation", failure)
    response = chat(client, "relais-translation", f"Traduis en anglais : {SOURCE}")
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["code"] == "agent_failed" and error["type"] == "server_error"
    assert type(failure).__name__ in error["message"] and SOURCE not in response.text
    [record] = app.state.audit.rows()
    assert record.outcome == "error" and str(failure) in record.message
    assert not record.answer_content  # nothing passed off as a translation


def test_a_translation_model_dying_midway_fails_the_run(api, scripted_models, monkeypatch):
    monkeypatch.setenv("RELAIS_TRANSLATION_CHUNK_CHARS", "60")
    get_settings.cache_clear()
    scripted_models.queue("translation", {"translations": ["The qualified person certifies each batch."]},
                          RuntimeError("model server answered 500"))
    text = "Traduis en anglais : Le pharmacien responsable certifie chaque lot.\n\n" + SOURCE
    response = chat(client=api[0], model="relais-translation", text=text)
    assert response.status_code == 502 and SOURCE not in response.text
    [record] = api[1].state.audit.rows()
    assert record.outcome == "error" and "answered 500" in record.message


def test_a_streamed_translation_with_a_dead_model_ends_in_an_error_event(api, scripted_models):
    client, app = api
    scripted_models.queue("translation", RuntimeError("model server answered 500"))
    response = chat(client, "relais-translation", f"Traduis en anglais : {SOURCE}", stream=True)
    streamed = events(response)
    assert streamed[-1]["error"]["code"] == "agent_failed"
    assert SOURCE not in "".join(chunk["choices"][0]["delta"].get("content") or ""
                                 for chunk in streamed if chunk.get("choices"))
    [record] = app.state.audit.rows()
    assert record.outcome == "error" and "answered 500" in record.message


def test_a_translation_model_that_never_answers_in_the_schema_says_so_instead_of_echoing(api, scripted_models):
    # The model answered, but nothing usable: a plain answer saying nothing was translated (no 5xx for
    # what the model wrote), never the source text, and the audit record keeps the fact.
    client, app = api
    scripted_models.queue("translation", *["ce n'est pas du JSON"] * 4)
    response = chat(client, "relais-translation", f"Traduis en anglais : {SOURCE}")
    assert response.status_code == 200 and SOURCE not in response.text
    assert "Rien n'a été traduit" in response.json()["choices"][0]["message"]["content"]
    [record] = app.state.audit.rows()
    assert [event["type"] for event in record.guard["events"]] == ["untranslated"]


def test_one_untranslatable_segment_is_still_kept_and_reported(api, scripted_models):
    client, app = api
    scripted_models.queue("translation", {"translations": ["only one"]}, {"translations": ["Purpose"]},
                          "ce n'est pas du JSON")
    response = chat(client, "relais-translation", f"Traduis en anglais : Objet\n\n{SOURCE}")
    assert response.status_code == 200, response.text
    answer = response.json()["choices"][0]["message"]["content"]
    assert answer.startswith("Purpose") and "segment non traduit" in answer  # said plainly, not passed off
    [record] = app.state.audit.rows()
    assert record.outcome == "ok"


@pytest.mark.parametrize("failure", DEAD, ids=type)
def test_a_dead_drafting_model_fails_the_contract_clause_run(api, scripted_models, failure):
    client, app = api
    scripted_models.queue("drafting", failure)
    response = chat(client, "relais-contract-clauses", "Rédige une clause d'audit BPF pour un façonnier")
    assert response.status_code == 502, response.text
    assert response.json()["error"]["code"] == "agent_failed"
    [record] = app.state.audit.rows()
    assert record.outcome == "error" and str(failure) in record.message and not record.answer_content


def test_a_clause_outside_the_schema_is_still_said_plainly(api, scripted_models):
    client, app = api
    scripted_models.queue("drafting", {"title": "sans texte"})
    response = chat(client, "relais-contract-clauses", "Rédige une clause d'audit BPF pour un façonnier")
    assert response.status_code == 200
    assert "pas produit de réponse exploitable" in response.json()["choices"][0]["message"]["content"]
