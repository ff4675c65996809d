"""The real client: Open WebUI, with authentication on, in front of Relais.

Open WebUI signs who is asking into `X-OpenWebUI-User-Jwt` with the secret it shares with Relais;
Relais verifies it, finds the user's groups in its access policy (by e-mail: Open WebUI's JWT carries
no groups) and serves only the agents those groups may use. Relais runs with an API key and without
RELAIS_TRUST_USER_HEADERS, so a plaintext user header could not name anyone.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jwt
import pytest

from cli import main as cli
from relais.settings import get_settings
from server.app import create_app
from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ALICE_EMAIL,
    OPENWEBUI_JWT_SECRET,
    OPENWEBUI_KEY,
    OpenWebUIAccounts,
    OpenWebUIUser,
    ThreadedServer,
)

pytestmark = pytest.mark.e2e

ANSWER = "Réponse de l'agent Relais : les BPF exigent une formation initiale et continue."
ALL_MODELS = {"relais-auto", "relais-contract-clauses", "relais-web-research", "relais-procedures",
              "relais-translation", "relais-computer-validation", "relais-code",
              "relais-regulatory-analysis", "relais-general"}
# Alice is in Informatique (the code assistant); Bob is in no group: the default agents only.
POLICY = f"""
[default]
labels = ["general"]

[groups.Informatique]
labels = ["code"]

[groups.DSI]
labels = ["*"]

[users]
"{ADMIN_EMAIL}" = ["DSI"]
"{ALICE_EMAIL}" = ["Informatique"]
"""
CODE_QUESTION = "Écris une fonction Python qui additionne deux nombres."


def _fixed_answer(messages):
    return ANSWER


@pytest.fixture
def relais_deployment(scripted_models, tmp_path: Path, monkeypatch) -> None:
    """Relais as deployed behind Open WebUI: API key, shared JWT secret, a policy, its own audit database."""
    policy = tmp_path / "access.toml"
    policy.write_text(POLICY, encoding="utf-8")
    monkeypatch.setenv("RELAIS_API_KEYS", OPENWEBUI_KEY)
    monkeypatch.setenv("RELAIS_OPENWEBUI_JWT_SECRET", OPENWEBUI_JWT_SECRET)
    monkeypatch.setenv("RELAIS_ACCESS_POLICY", str(policy))
    monkeypatch.setenv("RELAIS_AUDIT_URL", f"sqlite:///{tmp_path / 'audit.db'}")
    monkeypatch.delenv("RELAIS_TRUST_USER_HEADERS", raising=False)
    get_settings.cache_clear()
    for role in ("router", "fast", "drafting", "reasoning", "code", "translation", "judge"):
        scripted_models.queue(role, *[_fixed_answer] * 20)


@pytest.fixture
def relais(relais_deployment, relais_port):
    with ThreadedServer(create_app(), relais_port) as server:
        yield server


@pytest.fixture
def relais_on_the_guide(guide_index, relais_deployment, relais_port):
    """The same, with the GMP guide indexed: `relais-auto` routes BPF questions there."""
    with ThreadedServer(create_app(), relais_port) as server:
        yield server


def _model_ids(openwebui: str, user: OpenWebUIUser) -> set[str]:
    response = httpx.get(f"{openwebui}/api/models", headers=user.headers, timeout=60)
    response.raise_for_status()
    return {model["id"] for model in response.json()["data"]}


def _chat(openwebui: str, user: OpenWebUIUser, model: str, text: str) -> httpx.Response:
    body = {"model": model, "stream": False, "messages": [{"role": "user", "content": text}]}
    return httpx.post(f"{openwebui}/api/chat/completions", json=body, headers=user.headers, timeout=120)


def _audit_records(capsys) -> list[dict]:
    """The audit trail as `relais audit tail` prints it."""
    capsys.readouterr()
    assert cli.main(["audit", "tail", "--n", "50"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_open_webui_lists_the_relais_models(relais, openwebui, openwebui_accounts: OpenWebUIAccounts):
    response = httpx.get(f"{openwebui}/api/models", headers=openwebui_accounts.admin.headers, timeout=60)
    response.raise_for_status()
    models = {model["id"]: model for model in response.json()["data"]}
    assert ALL_MODELS <= set(models)  # the admin is in DSI: every agent
    assert models["relais-auto"]["name"] == "Assistant (auto)"


def test_streamed_chat_through_open_webui_returns_the_agent_answer(relais_on_the_guide, openwebui,
                                                                    openwebui_token):
    body = {
        "model": "relais-auto",
        "stream": True,
        "messages": [{"role": "user", "content": "Quelles sont les exigences BPF pour la formation du personnel ?"}],
    }
    content, events = [], []
    with httpx.stream("POST", f"{openwebui}/api/chat/completions", json=body, timeout=120,
                      headers={"Authorization": f"Bearer {openwebui_token}"}) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[len("data: "):])
            for choice in chunk.get("choices") or []:
                content.append((choice.get("delta") or {}).get("content") or "")
            events.append(chunk)
    answer = "".join(content)
    assert answer.startswith(ANSWER)  # the regulatory agent's verified answer...
    assert "**Sources**" in answer and "BPF Partie" in answer  # ...with the guide extracts it relied on
    assert any(chunk.get("usage") for chunk in events)


def test_each_user_sees_and_reaches_only_the_agents_of_their_groups(
    relais, openwebui, openwebui_accounts: OpenWebUIAccounts, capsys
):
    alice, bob = openwebui_accounts.alice, openwebui_accounts.bob
    # Open WebUI keeps ONE table of models for all its users, replaced by whoever listed last: Relais
    # lists every agent to everyone, so Bob listing right before Alice's chat cannot break it...
    assert _model_ids(openwebui, bob) >= ALL_MODELS
    answered = _chat(openwebui, alice, "relais-code", CODE_QUESTION)
    assert answered.status_code == 200, answered.text
    assert ANSWER in answered.json()["choices"][0]["message"]["content"]

    # ...and access is enforced where it matters: Bob's chat with relais-code reaches Relais, which refuses him.
    denied = _chat(openwebui, bob, "relais-code", CODE_QUESTION)
    assert denied.status_code == 403, denied.text
    error = denied.json()["error"]  # Relais's own error body, passed through by Open WebUI
    assert error["code"] == "agent_forbidden" and bob.id in error["message"]
    assert "relais-code" not in error["message"].split("agents allowed:")[1]

    general = _chat(openwebui, bob, "relais-general", "Propose un titre pour la lettre interne de juin.")
    assert general.status_code == 200, general.text

    records = _audit_records(capsys)
    by_user = {(record["user_id"], record["requested_model"]): record for record in records}
    # Each user is named by their Open WebUI id, which only the signed JWT carries to Relais.
    assert by_user[(alice.id, "relais-code")]["outcome"] == "ok"
    assert by_user[(alice.id, "relais-code")]["groups"] == ["Informatique"]  # found by the JWT's e-mail
    assert by_user[(bob.id, "relais-general")]["outcome"] == "ok"
    assert by_user[(bob.id, "relais-general")]["groups"] == []
    assert not any(record["user_id"] == bob.id and record["outcome"] == "ok" and record["agent"] == "code"
                   for record in records)


def test_relais_believes_only_the_signed_user(relais):
    """Straight to Relais with its API key: plaintext user headers or a badly signed JWT name nobody."""
    alice_id = "3f1c2b9e-alice"
    url = f"http://127.0.0.1:{relais.port}/v1/chat/completions"
    body = {"model": "relais-code", "messages": [{"role": "user", "content": CODE_QUESTION}]}
    key = {"Authorization": f"Bearer {OPENWEBUI_KEY}"}
    plaintext = {**key, "X-OpenWebUI-User-Id": alice_id, "X-OpenWebUI-User-Email": ALICE_EMAIL,
                 "X-OpenWebUI-User-Groups": "Informatique"}
    response = httpx.post(url, json=body, headers=plaintext, timeout=60)
    assert response.status_code == 403, response.text  # served as the API key's own user, not as Alice
    assert alice_id not in response.json()["error"]["message"]

    claims = {"sub": alice_id, "email": ALICE_EMAIL, "name": "Alice Martin", "role": "user", "iss": "open-webui"}
    forged = jwt.encode({**claims, "iat": 0, "exp": 4_000_000_000}, "not-the-secret-shared-with-open-webui",
                        algorithm="HS256")
    response = httpx.post(url, json=body, headers={**key, "X-OpenWebUI-User-Jwt": forged}, timeout=60)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "invalid_token"
