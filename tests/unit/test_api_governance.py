"""The API with governance on: keys, the Open WebUI user, per-group models and access, audit per request."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from relais.settings import get_settings
from server.app import create_app

ROOT = Path(__file__).resolve().parents[2]
SECRET = "shared-with-open-webui"
KEY = "relais-test-key"


def _token(email: str, user_id: str = "u-42") -> str:
    now = int(time.time())
    claims = {"sub": user_id, "email": email, "name": "Léa Martin", "role": "user", "iss": "open-webui",
              "iat": now, "exp": now + 300}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.fixture
def governed(monkeypatch, tmp_path, scripted_models):
    policy = tmp_path / "access.toml"
    policy.write_text(
        '[default]\nlabels = ["general"]\n\n[groups.Juridique]\nlabels = ["contract_clauses"]\n\n'
        '[users]\n"juriste@example.com" = ["Juridique"]\n', encoding="utf-8")
    monkeypatch.setenv("RELAIS_API_KEYS", KEY)
    monkeypatch.setenv("RELAIS_OPENWEBUI_JWT_SECRET", SECRET)
    monkeypatch.setenv("RELAIS_ACCESS_POLICY", str(policy))
    get_settings.cache_clear()
    app = create_app()
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, app


def _headers(email="juriste@example.com", key=KEY):
    return {"Authorization": f"Bearer {key}", "X-OpenWebUI-User-Jwt": _token(email)}


def test_missing_or_wrong_key_is_401(governed):
    client, _ = governed
    assert client.get("/v1/models").status_code == 401
    response = client.get("/v1/models", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.json()["error"]["type"] == "authentication_error"


def test_forged_user_token_is_401(governed):
    client, _ = governed
    forged = jwt.encode({"sub": "x", "iss": "open-webui", "exp": int(time.time()) + 60}, "wrong", algorithm="HS256")
    response = client.get("/v1/models", headers={"Authorization": f"Bearer {KEY}", "X-OpenWebUI-User-Jwt": forged})
    assert response.status_code == 401


def test_every_user_gets_the_same_model_list_and_access_is_enforced_at_chat_time(governed, scripted_models):
    # Open WebUI keeps one model table for all its users: a per-user list broke other users' chats.
    client, _ = governed
    lawyer = [model["id"] for model in client.get("/v1/models", headers=_headers()).json()["data"]]
    someone = [model["id"] for model in client.get("/v1/models", headers=_headers("x@example.com")).json()["data"]]
    assert lawyer == someone and lawyer[0] == "relais-auto" and "relais-contract-clauses" in lawyer
    body = {"model": "relais-contract-clauses", "messages": [{"role": "user", "content": "une clause"}]}
    response = client.post("/v1/chat/completions", json=body, headers=_headers("x@example.com"))
    assert response.status_code == 403 and "relais-general" in response.json()["error"]["message"]


def test_forbidden_agent_is_403_audited_and_nothing_runs(governed, scripted_models):
    client, app = governed
    body = {"model": "relais-code", "messages": [{"role": "user", "content": "un script"}]}
    response = client.post("/v1/chat/completions", json=body, headers=_headers())
    assert response.status_code == 403 and response.json()["error"]["code"] == "agent_forbidden"
    assert scripted_models.calls("code") == []
    [refusal] = app.state.audit.rows()
    assert refusal.outcome == "refused" and refusal.requested_model == "relais-code" and refusal.user_id == "u-42"


def test_supervisor_never_dispatches_to_a_forbidden_agent(governed, scripted_models, monkeypatch):
    from graphs import supervisor
    from graphs.router.classifier import RouteDecision

    class CodeRouter:
        def decide(self, text):
            return RouteDecision(label="code", confidence=0.99, method="local")

    monkeypatch.setattr(supervisor, "get_router", CodeRouter)
    scripted_models.queue("fast", "réponse générale")
    client, _ = governed
    body = {"model": "relais-auto", "messages": [{"role": "user", "content": "un script Python"}]}
    answer = client.post("/v1/chat/completions", json=body, headers=_headers("x@example.com")).json()
    assert answer["relais"]["route"]["label"] == "general"
    assert scripted_models.calls("code") == []


def test_each_request_is_audited_with_who_what_where(governed, scripted_models):
    client, app = governed
    scripted_models.queue("fast", "Bonjour Léa.")
    body = {"model": "relais-general", "messages": [{"role": "user", "content": "bonjour"}]}
    assert client.post("/v1/chat/completions", json=body, headers=_headers()).status_code == 200
    [record] = app.state.audit.rows()
    assert record.user_id == "u-42" and record.groups == ("Juridique",)
    assert record.agent == "general" and record.route_method == "explicit"
    assert record.model == "fake:fast" and record.destination == "local" and record.outcome == "ok"
    assert record.tokens_out > 0 and record.latency_ms > 0
    assert record.request_content is None  # only hashes unless the configuration says otherwise
    assert app.state.audit.verify().ok


def test_streamed_request_is_audited_after_the_answer(governed, scripted_models):
    client, app = governed
    scripted_models.queue("fast", "bonjour")
    body = {"model": "relais-general", "stream": True, "messages": [{"role": "user", "content": "salut"}]}
    response = client.post("/v1/chat/completions", json=body, headers=_headers())
    assert response.text.rstrip().endswith("data: [DONE]")
    [record] = app.state.audit.rows()
    assert record.outcome == "ok" and record.agent == "general"


def test_failed_request_is_audited_as_an_error(governed, scripted_models):
    client, app = governed
    scripted_models.queue("fast", RuntimeError("model down"))
    body = {"model": "relais-general", "messages": [{"role": "user", "content": "salut"}]}
    assert client.post("/v1/chat/completions", json=body, headers=_headers()).status_code == 502
    [record] = app.state.audit.rows()
    assert record.outcome == "error" and "model down" in record.message


def test_unwritable_audit_trail_refuses_the_request(governed, scripted_models, monkeypatch):
    from server.audit import AuditUnavailable

    client, app = governed

    def locked():
        raise AuditUnavailable("audit database is locked")

    monkeypatch.setattr(app.state.audit, "ensure_writable", locked)
    body = {"model": "relais-general", "messages": [{"role": "user", "content": "salut"}]}
    response = client.post("/v1/chat/completions", json=body, headers=_headers())
    assert response.status_code == 503 and response.json()["error"]["code"] == "audit_unavailable"
    assert scripted_models.calls("fast") == []


def test_metrics_count_requests(governed, scripted_models):
    client, _ = governed
    scripted_models.queue("fast", "ok")
    body = {"model": "relais-general", "messages": [{"role": "user", "content": "salut"}]}
    client.post("/v1/chat/completions", json=body, headers=_headers())
    text = client.get("/metrics", headers=_headers()).text
    assert "relais_requests_total" in text and 'agent="general"' in text


def test_usage_reports_energy_and_co2(governed, scripted_models):
    client, _ = governed
    scripted_models.queue("fast", "une réponse assez longue pour compter des jetons")
    body = {"model": "relais-general", "messages": [{"role": "user", "content": "salut"}]}
    usage = client.post("/v1/chat/completions", json=body, headers=_headers()).json()["usage"]
    assert usage["completion_tokens"] > 0
    assert "energy_kwh" in usage and "co2_kg" in usage
    json.dumps(usage)
