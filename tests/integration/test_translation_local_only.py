"""Translation is confidential: with Mistral configured, and even named for the translation role,
a translation request reaches only the local model server; the fake Mistral server records nothing."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import HumanMessage

from agents import build_agent_graph, get_spec
from relais.settings import get_settings
from tests.fakes import mistral_server

pytestmark = pytest.mark.integration

TEXT = "Traduis en anglais :\n\n## Objet\n\n| Étape | Responsable |\n|---|---|\n| Libération | Pharmacien responsable |"
TRANSLATIONS = {"translations": ["Purpose", "Step", "Owner", "Release", "Qualified Person"]}


@pytest.fixture
def mistral_everywhere(fake_mistral, fake_local, monkeypatch):
    """Mistral configured with a key, named explicitly for translation; a local server beside it."""
    monkeypatch.setenv("MISTRAL_API_KEY", "test-key")
    monkeypatch.setenv("MISTRAL_BASE_URL", fake_mistral.base_url)
    monkeypatch.setenv("RELAIS_MODELS", "translation=mistral:mistral-large-latest")
    monkeypatch.setenv("RELAIS_LOCAL_BASE_URL", fake_local.base_url)
    monkeypatch.setenv("RELAIS_MODEL_MAX_RETRIES", "0")
    get_settings.cache_clear()
    return fake_mistral, fake_local


def test_a_translation_never_reaches_mistral(mistral_everywhere):
    fake_mistral, fake_local = mistral_everywhere
    fake_local.queue(mistral_server.Reply.structured_output(TRANSLATIONS))
    result = build_agent_graph(get_spec("translation")).invoke({"messages": [HumanMessage(TEXT)]},
                                                               context={"models": {"translation": "mistral:x"}})
    assert fake_mistral.requests == []
    assert len(fake_local.chat_requests) == 1
    assert "Pharmacien responsable" in json.dumps(fake_local.chat_requests[0], ensure_ascii=False)
    answer = result["messages"][-1].content
    assert answer.startswith("## Purpose\n\n| Step | Owner |\n|---|---|\n| Release | Qualified Person |")


def test_the_same_setup_does_send_other_agents_to_mistral(mistral_everywhere):
    """The control: the fake Mistral server does record what reaches it."""
    fake_mistral, _ = mistral_everywhere
    fake_mistral.queue("Bonjour")
    build_agent_graph(get_spec("general")).invoke({"messages": [HumanMessage("Bonjour")]})
    assert len(fake_mistral.chat_requests) == 1


def test_through_the_api_streamed_once_and_local_only(mistral_everywhere):
    from server.app import create_app

    fake_mistral, fake_local = mistral_everywhere
    fake_local.queue(mistral_server.Reply.structured_output(TRANSLATIONS))
    body = {"model": "relais-translation", "stream": True, "messages": [{"role": "user", "content": TEXT}]}
    with TestClient(create_app(), client=("127.0.0.1", 50000)) as client:
        response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    chunks = [json.loads(line[6:]) for line in response.text.split("\n")
              if line.startswith("data: ") and line != "data: [DONE]"]
    content = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk.get("choices"))
    assert content.count("| Release | Qualified Person |") == 1  # streamed once, not re-sent at the end
    assert "**Glossaire BPF (FR→EN)**" in content
    assert fake_mistral.requests == []
    assert len(fake_local.chat_requests) == 1
