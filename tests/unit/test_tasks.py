"""Open WebUI's background tasks on the embedded model are answered without it (server/tasks.py)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from relais.models import catalog
from relais.settings import get_settings
from server.app import create_app
from server.tasks import FOLLOW_UPS, QUERIES, TAGS, TITLE, answer_without_model, short_title, task_kind
from tests.fakes.scripted_model import ScriptedChatModel

# Open WebUI 0.12.4's default title prompt, shortened, as it reaches the chat model.
TITLE_PROMPT = """### Task:
Generate a concise title summarizing the chat history.
### Output:
JSON format: { "title": "your concise title here" }
### Chat History:
<chat_history>
USER: Quelles sont les exigences des BPF pour la qualification des fournisseurs de matières premières ?
ASSISTANT: Selon la partie I, §5.27…
</chat_history>"""
FOLLOW_UP_PROMPT = "### Task:\nPredict 3-5 useful messages this user might naturally send next to advance..."


def test_the_task_is_named_by_the_header_or_recognised_by_its_prompt():
    assert task_kind("tags_generation", TITLE_PROMPT) == TAGS
    assert task_kind(None, TITLE_PROMPT) == TITLE
    assert task_kind("", FOLLOW_UP_PROMPT) == FOLLOW_UPS
    assert task_kind(None, "### Task:\nAnalyze the chat history ... generating search queries") == QUERIES
    assert task_kind(None, "### Task:\nSomething Open WebUI may add one day") == ""


def test_a_title_is_the_start_of_the_users_request_in_the_json_open_webui_parses():
    title = json.loads(answer_without_model(TITLE, TITLE_PROMPT))["title"]
    assert title == "Quelles sont les exigences des BPF pour…"
    assert short_title("  ") == "Nouvelle conversation"
    assert short_title("**Traduis** ce document.") == "Traduis ce document"


def test_other_tasks_get_empty_but_valid_answers_and_unknown_ones_go_to_the_model():
    assert json.loads(answer_without_model(TAGS, TITLE_PROMPT)) == {"tags": []}
    assert json.loads(answer_without_model(FOLLOW_UPS, FOLLOW_UP_PROMPT)) == {"follow_ups": []}
    queries = json.loads(answer_without_model(QUERIES, TITLE_PROMPT))["queries"]
    assert queries == ["Quelles sont les exigences des BPF pour la qualification des fournisseurs de matières "
                       "premières ?"]
    assert answer_without_model("function_calling", TITLE_PROMPT) is None
    assert answer_without_model("", TITLE_PROMPT) is None


@pytest.fixture
def embedded_only(monkeypatch):
    """No Mistral key, no model server: the embedded model answers, stood in for by a scripted one."""
    embedded = ScriptedChatModel(model_name="embedded:default")
    monkeypatch.setitem(catalog.PROVIDERS, "embedded", lambda *_args: embedded)
    monkeypatch.setenv("RELAIS_TRUST_USER_HEADERS", "true")
    get_settings.cache_clear()
    with TestClient(create_app(), raise_server_exceptions=False, client=("127.0.0.1", 50000)) as client:
        yield client, embedded


def _task(client, model: str, prompt: str, **headers: str):
    body = {"model": model, "messages": [{"role": "user", "content": prompt}]}
    response = client.post("/v1/chat/completions", json=body, headers={"X-OpenWebUI-User-Id": "alice", **headers})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("header", [{"X-Relais-Task": "title_generation"}, {}], ids=["header", "prompt"])
def test_on_the_embedded_model_a_title_task_never_reaches_the_model(embedded_only, header):
    client, embedded = embedded_only
    payload = _task(client, "relais-regulatory-analysis", TITLE_PROMPT, **header)
    assert json.loads(payload["choices"][0]["message"]["content"])["title"].startswith("Quelles sont les exigences")
    assert payload["relais"]["route"]["method"] == "task-without-model"
    assert embedded.calls == []


def test_on_the_embedded_model_a_task_only_a_model_can_do_still_goes_to_it(embedded_only):
    client, embedded = embedded_only
    embedded.queue('{"tool_calls": []}')
    payload = _task(client, "relais-general", "### Task:\nChoose the tool", **{"X-Relais-Task": "function_calling"})
    assert payload["choices"][0]["message"]["content"] == '{"tool_calls": []}'
    assert payload["relais"]["route"]["method"] == "task" and len(embedded.calls) == 1
