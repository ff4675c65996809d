"""Every door obeys the policy, the guard and the audit (issue 11), through the real HTTP API.

The fake Mistral server's request log is the witness of what left the company.
"""

from __future__ import annotations

import time

import jwt
import pytest
from fastapi.testclient import TestClient

from relais.settings import get_settings
from server.app import create_app
from tests.fakes import web_server
from tests.fakes.web_server import FakeWeb

pytestmark = pytest.mark.integration

SECRET = "shared-with-open-webui"
KEY = "relais-test-key"
NIR = "1 85 05 78 006 084 91"
IBAN = "FR76 3000 6000 0112 3456 7890 189"
PLANTED = f"Le patient M. Jean Dupont (NIR {NIR}, IBAN {IBAN}) a signalé un effet indésirable : rédige un courrier."
POLICY = ('[default]\nlabels = ["general"]\n\n[groups.Juridique]\nlabels = ["contract_clauses", "general"]\n\n'
          '[groups.Traduction]\nlabels = ["translation"]\n\n'
          '[users]\n"juriste@example.com" = ["Juridique"]\n"traducteur@example.com" = ["Traduction"]\n')


def _token(email: str) -> str:
    now = int(time.time())
    claims = {"sub": email.split("@")[0], "email": email, "name": "Léa Martin", "role": "user", "iss": "open-webui",
              "iat": now, "exp": now + 300}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def _headers(email: str = "juriste@example.com", **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}", "X-OpenWebUI-User-Jwt": _token(email), **extra}


def _alnum(text: object) -> str:
    return "".join(character for character in str(text) if character.isalnum())


def _left_for_mistral(server) -> str:
    return "\n".join(str(body) for body in server.chat_requests)


@pytest.fixture
def policy_env(monkeypatch, tmp_path):
    policy = tmp_path / "access.toml"
    policy.write_text(POLICY, encoding="utf-8")
    monkeypatch.setenv("RELAIS_API_KEYS", KEY)
    monkeypatch.setenv("RELAIS_OPENWEBUI_JWT_SECRET", SECRET)
    monkeypatch.setenv("RELAIS_ACCESS_POLICY", str(policy))
    get_settings.cache_clear()


@pytest.fixture
def governed(policy_env, scripted_models):
    app = create_app()
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, app


@pytest.fixture
def hybrid(policy_env, fake_mistral, fake_local, monkeypatch):
    """Mistral for remote roles and a local OpenAI-compatible server (no GGUF), governed."""
    monkeypatch.setenv("MISTRAL_API_KEY", "test-key")
    monkeypatch.setenv("MISTRAL_BASE_URL", fake_mistral.base_url)
    monkeypatch.setenv("RELAIS_LOCAL_BASE_URL", fake_local.base_url)
    get_settings.cache_clear()
    app = create_app()
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, app, fake_mistral, fake_local


# --- Door 1: LangServe routes ----------------------------------------------------------------------

def _invoke(client, path: str, text: str, email: str = "juriste@example.com", **extra_input):
    body = {"input": {"messages": [{"type": "human", "content": text}], **extra_input}}
    return client.post(f"{path}/invoke", json=body, headers=_headers(email))


def test_langserve_agent_denied_to_the_users_groups_is_403_and_nothing_runs(governed, scripted_models):
    client, app = governed
    for endpoint in ("invoke", "stream", "batch"):
        body = {"inputs": [{"messages": [{"type": "human", "content": "un script"}]}]} if endpoint == "batch" else \
            {"input": {"messages": [{"type": "human", "content": "un script"}]}}
        response = client.post(f"/agents/code/{endpoint}", json=body, headers=_headers())
        assert response.status_code == 403, (endpoint, response.text)
        assert response.json()["error"]["code"] == "agent_forbidden"
    assert client.get("/agents/code/playground/", headers=_headers()).status_code == 403
    assert scripted_models.calls("code") == []
    refusals = app.state.audit.rows()
    assert [(record.outcome, record.requested_model, record.user_id) for record in refusals] == \
        [("refused", "relais-code", "juriste")] * 3  # the three runs; the playground page is not a run
    assert "relais-general" in refusals[0].message


def test_langserve_playground_and_run_work_for_an_allowed_agent(governed, scripted_models):
    client, app = governed
    assert client.get("/agents/general/playground/", headers=_headers()).status_code == 200
    scripted_models.queue("fast", "Bonjour Léa.")
    response = _invoke(client, "/agents/general", "bonjour")
    assert response.status_code == 200, response.text
    assert response.json()["output"]["messages"][-1]["content"] == "Bonjour Léa."
    [record] = app.state.audit.rows()
    assert record.user_id == "juriste" and record.groups == ("Juridique",)
    assert record.requested_model == "relais-general" and record.outcome == "ok" and record.model == "fake:fast"


@pytest.mark.parametrize("field, value", [("allowed_agents", ["code", "general"]), ("requested_agent", "code")])
def test_a_body_that_sets_permissions_is_refused_422(governed, scripted_models, field, value):
    client, _ = governed
    response = _invoke(client, "/agents/supervisor", "un script Python", **{field: value})
    assert response.status_code == 422 and response.json()["error"]["code"] == "permission_field"
    batch = {"inputs": [{"messages": [{"type": "human", "content": "x"}], field: value}]}
    assert client.post("/agents/supervisor/batch", json=batch, headers=_headers()).status_code == 422
    assert scripted_models.calls("code") == []


def test_client_configurable_cannot_lift_the_restriction(governed, scripted_models, monkeypatch):
    from graphs import supervisor
    from graphs.router.classifier import RouteDecision

    class CodeRouter:
        def decide(self, text):
            return RouteDecision(label="code", confidence=0.99, method="local")

    monkeypatch.setattr(supervisor, "get_router", CodeRouter)
    scripted_models.queue("fast", "réponse générale")
    client, _ = governed
    body = {"input": {"messages": [{"type": "human", "content": "un script Python"}]},
            "config": {"configurable": {"allowed_agents": ["code"], "relais_context": {"allowed_agents": ["code"]}}}}
    response = client.post("/agents/supervisor/invoke", json=body, headers=_headers("x@example.com"))
    assert response.status_code == 200, response.text
    assert response.json()["output"]["route"]["label"] == "general"
    assert scripted_models.calls("code") == []


def test_langserve_requests_obey_the_rate_limit_and_the_size_limit(governed, scripted_models, monkeypatch):
    client, _ = governed
    monkeypatch.setenv("RELAIS_MAX_MESSAGE_CHARS", "50")
    get_settings.cache_clear()
    response = _invoke(client, "/agents/general", "x" * 51)
    assert response.status_code == 413 and response.json()["error"]["code"] == "message_too_long"
    monkeypatch.setenv("RELAIS_RATE_LIMIT_PER_MINUTE", "2")
    get_settings.cache_clear()
    statuses = [_invoke(client, "/agents/general", "salut").status_code for _ in range(4)]
    assert 429 in statuses and statuses[0] == 200


def test_langserve_refuses_when_the_audit_cannot_be_written(governed, scripted_models, monkeypatch):
    from server.audit import AuditUnavailable

    client, app = governed

    def locked(entry):
        raise AuditUnavailable("audit database is locked")

    monkeypatch.setattr(app.state.audit, "record", locked)
    for endpoint in ("invoke", "stream"):
        response = client.post(f"/agents/general/{endpoint}", headers=_headers(),
                               json={"input": {"messages": [{"type": "human", "content": "salut"}]}})
        assert response.status_code == 503 and response.json()["error"]["code"] == "audit_unavailable"
    assert scripted_models.calls("fast") == []


def test_langserve_run_is_recorded_before_it_runs(governed, scripted_models):
    client, app = governed
    seen_while_running = []

    def answer(messages):
        seen_while_running.extend(record.outcome for record in app.state.audit.rows(per_request=False))
        return "bonjour"

    scripted_models.queue("fast", answer)
    assert _invoke(client, "/agents/general", "salut").status_code == 200
    assert seen_while_running == ["started"]
    assert [record.outcome for record in app.state.audit.rows(per_request=False)] == ["started", "ok"]


def test_langserve_stream_is_audited(governed, scripted_models):
    client, app = governed
    scripted_models.queue("fast", "bonjour à vous")
    body = {"input": {"messages": [{"type": "human", "content": "salut"}]}}
    response = client.post("/agents/general/stream", json=body, headers=_headers())
    assert response.status_code == 200 and "event: end" in response.text
    assert [record.outcome for record in app.state.audit.rows()][-1:] == ["ok"]


def test_langserve_calls_to_mistral_are_guarded(hybrid):
    client, app, mistral, _ = hybrid
    response = _invoke(client, "/agents/general", PLANTED)
    assert response.status_code == 200, response.text
    sent = _left_for_mistral(mistral)
    assert _alnum(NIR) not in _alnum(sent) and _alnum(IBAN) not in _alnum(sent) and "Dupont" not in sent
    [record] = app.state.audit.rows()
    assert record.guard["events"][0]["action"] == "redact"


# --- Door 2: Open WebUI's background tasks ---------------------------------------------------------

TITLE_TASK = ("### Task:\nGenerate a concise, 3-5 word title summarizing the chat history.\n"
              "<chat_history>\nUSER: Traduis ce contrat confidentiel de Jean Dupont : prix unitaire 12,40 €\n"
              "</chat_history>")


def _chat(client, model: str, text: str, email: str, **headers: str):
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    return client.post("/v1/chat/completions", json=body, headers=_headers(email, **headers))


@pytest.mark.parametrize("headers", [{"X-Relais-Task": "title_generation"}, {}], ids=["task-header", "text-prefix"])
def test_a_task_on_a_confidential_chat_stays_local(hybrid, headers):
    client, _, mistral, local = hybrid
    local.queue("Traduction de contrat")
    response = _chat(client, "relais-translation", TITLE_TASK, "traducteur@example.com", **headers)
    assert response.status_code == 200, response.text
    assert response.json()["relais"]["route"]["method"] == "task"
    assert mistral.chat_requests == [] and len(local.chat_requests) == 1


def test_a_task_on_the_auto_model_stays_local(hybrid):
    client, _, mistral, local = hybrid
    local.queue("Traduction de contrat")
    assert _chat(client, "relais-auto", TITLE_TASK, "traducteur@example.com",
                 **{"X-Relais-Task": "tags_generation"}).status_code == 200
    assert mistral.chat_requests == []


def test_a_task_on_a_remote_agent_goes_out_guarded(hybrid):
    client, _, mistral, _ = hybrid
    mistral.queue("Titre")
    assert _chat(client, "relais-general", TITLE_TASK, "juriste@example.com",
                 **{"X-Relais-Task": "title_generation"}).status_code == 200
    sent = _left_for_mistral(mistral)
    assert len(mistral.chat_requests) == 1 and "Dupont" not in sent


def test_an_empty_task_header_means_a_users_own_message(hybrid):
    client, _, mistral, local = hybrid
    local.queue("réponse de l'agent")
    response = _chat(client, "relais-general", "### Task: mon message commence ainsi", "juriste@example.com",
                     **{"X-Relais-Task": ""})
    assert response.status_code == 200
    assert response.json()["relais"]["route"]["method"] == "explicit"


def test_a_task_cannot_reach_an_agent_the_user_may_not_use(hybrid):
    client, _, mistral, local = hybrid
    response = _chat(client, "relais-translation", TITLE_TASK, "juriste@example.com",
                     **{"X-Relais-Task": "title_generation"})
    assert response.status_code == 403
    assert mistral.chat_requests == [] and local.chat_requests == []


# --- Door 3: a remote fallback is guarded too -------------------------------------------------------

def test_a_failing_local_model_never_hands_raw_data_to_mistral(hybrid, monkeypatch):
    client, app, mistral, local = hybrid
    monkeypatch.setenv("RELAIS_MODELS", "drafting=local:qwen2.5:14b,fast=local:qwen2.5:14b")
    monkeypatch.setenv("RELAIS_MODEL_MAX_RETRIES", "0")
    get_settings.cache_clear()
    local.fail_next(20, status=500)
    mistral.queue("Courrier rédigé.")
    response = _chat(client, "relais-general", PLANTED, "juriste@example.com")
    assert response.status_code == 200, response.text
    assert len(local.chat_requests) >= 1 and len(mistral.chat_requests) == 1
    sent = _left_for_mistral(mistral)
    assert _alnum(NIR) not in _alnum(sent) and _alnum(IBAN) not in _alnum(sent) and "Dupont" not in sent
    assert "<NIR>" in sent
    [record] = app.state.audit.rows()
    assert record.destination == "remote-eu" and record.guard["events"][0]["action"] == "redact"


def test_a_local_policy_skips_every_remote_model_of_the_chain(hybrid, monkeypatch):
    """Personal data under the "local" policy: Mistral configured first, twice over, and never called."""
    from langchain_core.messages import HumanMessage

    from relais.models.catalog import get_chat_model, resolve_chain

    _, _, mistral, local = hybrid
    monkeypatch.setenv("RELAIS_MODELS", "code=mistral:codestral-latest")
    get_settings.cache_clear()
    assert [spec.provider for spec in resolve_chain("code", "internal")] == ["mistral", "local", "embedded"]
    local.queue("def f(): pass")
    answer = get_chat_model("code", "internal", guard="local").invoke([HumanMessage(PLANTED)])
    assert answer.content == "def f(): pass"
    assert mistral.chat_requests == [] and len(local.chat_requests) == 1


def test_a_refusal_is_final_no_other_model_is_tried(hybrid):
    from langchain_core.messages import HumanMessage

    from relais.models.catalog import get_chat_model
    from relais.models.guarded import GuardRefused

    _, _, mistral, local = hybrid
    with pytest.raises(GuardRefused, match="NIR"):
        get_chat_model("fast", "public", guard="refuse").invoke([HumanMessage(PLANTED)])
    assert mistral.chat_requests == [] and local.chat_requests == []


# --- Door 8: public pages never make web research refuse ----------------------------------------------

def test_web_research_answers_from_pages_that_name_people(hybrid, monkeypatch):
    client, app, mistral, _ = hybrid
    monkeypatch.setitem(web_server.PAGES, "/pages/annexe1", (
        "Révision de l'Annexe 1", "La révision de l'Annexe 1 est entrée en application le 25 août 2023. Contact "
        "presse : Marie Curie, marie.curie@example.org, +33 1 23 45 67 89."))
    with FakeWeb() as web:
        monkeypatch.setenv("RELAIS_WEB_SEARCH", "searxng")
        monkeypatch.setenv("RELAIS_SEARXNG_URL", web.url)
        monkeypatch.setenv("RELAIS_WEB_ALLOW_PRIVATE", "true")  # the local page server stands in for the web
        monkeypatch.delenv("RELAIS_ACCESS_POLICY")  # everyone may use web research
        get_settings.cache_clear()
        mistral.queue("L'Annexe 1 révisée s'applique depuis le 25 août 2023 [1].")
        body = {"model": "relais-web-research",
                "messages": [{"role": "user", "content": "Quand la révision de l'Annexe 1 s'applique-t-elle ?"}]}
        with TestClient(create_app(), raise_server_exceptions=False) as fresh:
            response = fresh.post("/v1/chat/completions", json=body, headers=_headers())
    assert response.status_code == 200, response.text
    assert "25 août 2023" in response.json()["choices"][0]["message"]["content"]
    assert len(mistral.chat_requests) == 1
    assert "marie.curie@example.org" in _left_for_mistral(mistral)  # a public page leaks nothing


def test_web_research_still_refuses_personal_data_in_the_question(hybrid, monkeypatch):
    client, _, mistral, _ = hybrid
    monkeypatch.delenv("RELAIS_ACCESS_POLICY")  # everyone may use web research
    get_settings.cache_clear()
    body = {"model": "relais-web-research", "messages": [{"role": "user", "content": PLANTED}]}
    with TestClient(create_app(), raise_server_exceptions=False) as fresh:
        response = fresh.post("/v1/chat/completions", json=body, headers=_headers())
    assert response.status_code == 200
    assert "données personnelles" in response.json()["choices"][0]["message"]["content"]
    assert mistral.chat_requests == []


def test_an_empty_last_user_message_is_400_not_an_agent_failure(governed, scripted_models):
    client, _ = governed
    body = {"model": "relais-general", "messages": [{"role": "user", "content": "une question"},
                                                    {"role": "assistant", "content": "oui ?"}, {"role": "user"}]}
    response = client.post("/v1/chat/completions", json=body, headers=_headers())
    assert response.status_code == 400 and response.json()["error"]["code"] == "empty_user_message"
    assert scripted_models.calls("fast") == []


@pytest.mark.parametrize("messages, code", [([{"type": "system", "content": "règles"}], "no_user_message"),
                                            ([{"type": "SystemMessageChunk", "content": ""}], "no_user_message"),
                                            ([{"type": "human", "content": "  "}], "empty_user_message")])
def test_langserve_input_without_a_question_is_400(governed, scripted_models, messages, code):
    client, _ = governed
    response = client.post("/agents/general/invoke", json={"input": {"messages": messages}}, headers=_headers())
    assert response.status_code == 400 and response.json()["error"]["code"] == code
    assert scripted_models.calls("fast") == []
