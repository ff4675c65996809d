"""The real client: Open WebUI lists the Relais models and streams a chat with `relais-auto`."""

from __future__ import annotations

import json

import httpx
import pytest

from server.app import create_app
from tests.e2e.conftest import ThreadedServer

pytestmark = pytest.mark.e2e

ANSWER = "Réponse de l'agent Relais : les BPF exigent une formation initiale et continue."


def _fixed_answer(messages):
    return ANSWER


@pytest.fixture
def relais(relais_port, scripted_models, guide_index):  # the GMP guide indexed: auto routes BPF questions there
    for role in ("router", "fast", "drafting", "reasoning", "code", "translation", "judge"):
        scripted_models.queue(role, *[_fixed_answer] * 20)
    with ThreadedServer(create_app(), relais_port) as server:
        yield server


def test_open_webui_lists_the_relais_models(relais, openwebui, openwebui_token):
    response = httpx.get(f"{openwebui}/api/models", headers={"Authorization": f"Bearer {openwebui_token}"},
                         timeout=60)
    response.raise_for_status()
    models = {model["id"]: model for model in response.json()["data"]}
    expected = {"relais-auto", "relais-contract-clauses", "relais-web-research", "relais-procedures",
                "relais-translation", "relais-computer-validation", "relais-code",
                "relais-regulatory-analysis", "relais-general"}
    assert expected <= set(models)
    assert models["relais-auto"]["name"] == "Assistant (auto)"


def test_streamed_chat_through_open_webui_returns_the_agent_answer(relais, openwebui, openwebui_token):
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
