"""Through the whole API: planted personal data never reaches the (fake) Mistral server; clean requests do."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from relais.settings import get_settings
from server.app import create_app

pytestmark = pytest.mark.integration

NIR = "1 85 05 78 006 084 91"
IBAN = "FR76 3000 6000 0112 3456 7890 189"
PLANTED = f"Le patient M. Jean Dupont (NIR {NIR}, IBAN {IBAN}) a signalé un effet indésirable : rédige un courrier."


@pytest.fixture
def hybrid(fake_mistral, fake_local, monkeypatch):
    """Mistral for remote roles, a local OpenAI-compatible server for the rest (no GGUF in tests)."""
    monkeypatch.setenv("MISTRAL_API_KEY", "test-key")
    monkeypatch.setenv("MISTRAL_BASE_URL", fake_mistral.base_url)
    monkeypatch.setenv("RELAIS_LOCAL_BASE_URL", fake_local.base_url)
    get_settings.cache_clear()
    with TestClient(create_app(), client=("127.0.0.1", 50000)) as client:
        yield client, fake_mistral, fake_local


def _ask(client, model: str, text: str) -> dict:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _sent_to(server) -> str:
    return "\n".join(str(request) for request in server.chat_requests)


def _digits(text: str) -> str:
    return "".join(character for character in text if character.isalnum())


@pytest.mark.parametrize("model", ["relais-general", "relais-code", "relais-procedures", "relais-auto"])
def test_planted_identifiers_never_reach_mistral(hybrid, model):
    client, mistral, local = hybrid
    _ask(client, model, PLANTED)
    sent = _digits(_sent_to(mistral))
    assert _digits(NIR) not in sent and _digits(IBAN) not in sent
    assert "Dupont" not in _sent_to(mistral)


def test_redacted_request_still_goes_out_with_placeholders(hybrid):
    client, mistral, _ = hybrid
    _ask(client, "relais-general", PLANTED)
    sent = _sent_to(mistral)
    assert "<NIR>" in sent and "<IBAN>" in sent


def test_regulatory_agent_sends_personal_data_to_the_local_model_instead(hybrid, guide_index):
    client, mistral, local = hybrid
    _ask(client, "relais-regulatory-analysis", f"Formation du personnel : le dossier de M. Jean Dupont, NIR {NIR} ?")
    assert _digits(NIR) not in _digits(_sent_to(mistral))
    assert local.chat_requests  # answered locally


def test_clean_request_is_not_blocked(hybrid):
    client, mistral, local = hybrid
    answer = _ask(client, "relais-general", "Comment organiser une réunion d'équipe efficace ?")
    assert mistral.chat_requests and not local.chat_requests
    assert answer["choices"][0]["message"]["content"]


def test_web_research_refuses_to_search_with_personal_data(hybrid):
    client, mistral, _ = hybrid
    answer = _ask(client, "relais-web-research", f"Cherche sur le web le dossier de M. Jean Dupont, NIR {NIR}")
    assert "moteur de recherche public" in answer["choices"][0]["message"]["content"]
    assert not mistral.chat_requests


def test_translation_never_reaches_mistral_whatever_the_configuration(hybrid, monkeypatch):
    client, mistral, local = hybrid
    monkeypatch.setenv("RELAIS_MODELS", "translation=mistral:mistral-large-latest")
    get_settings.cache_clear()
    _ask(client, "relais-translation", "Traduis en anglais : le lot est libéré par le pharmacien responsable.")
    assert not mistral.chat_requests and local.chat_requests


def test_a_strict_deployment_keeps_flagged_requests_local_instead_of_masking_them(hybrid, monkeypatch):
    """RELAIS_GUARD_POLICY=local: nothing of a request with personal data goes out, not even masked."""
    client, mistral, local = hybrid
    monkeypatch.setenv("RELAIS_GUARD_POLICY", "local")
    get_settings.cache_clear()
    _ask(client, "relais-general", PLANTED)
    assert not mistral.chat_requests and local.chat_requests
    _ask(client, "relais-general", "Comment organiser une réunion d'équipe efficace ?")
    assert mistral.chat_requests  # a clean request still goes to the remote model
    assert "Dupont" not in _sent_to(mistral) and "<NIR>" not in _sent_to(mistral)


def test_the_deployment_floor_never_loosens_an_agent_policy():
    from relais.guard.policy import strictest

    assert strictest("redact", "local") == "local"
    assert strictest("refuse", "local") == "refuse"  # web research still sends nothing
    assert strictest("local", "redact") == "local"
    assert strictest("redact", None) == "redact"
