"""The OpenAI-compatible API: every route, the streaming format chunk by chunk, every bad input."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from server.app import create_app


@pytest.fixture(scope="module")
def app():
    return create_app()  # models are resolved per request, so one app serves every test


@pytest.fixture
def client(app, scripted_models):
    with TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 50000)) as test_client:
        yield test_client


def _chat(model="relais-general", content="Bonjour", **extra):
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def _sse(response) -> list:
    lines = [line for line in response.text.split("\n") if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    return [json.loads(line[len("data: "):]) for line in lines[:-1]]


def test_health(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_models_lists_auto_and_one_model_per_agent_with_french_names(client):
    data = client.get("/v1/models").json()
    assert data["object"] == "list"
    ids = [model["id"] for model in data["data"]]
    assert ids == ["relais-auto", "relais-contract-clauses", "relais-web-research", "relais-procedures",
                   "relais-translation", "relais-computer-validation", "relais-code",
                   "relais-regulatory-analysis", "relais-general"]
    names = {model["id"]: model["name"] for model in data["data"]}
    assert names["relais-auto"] == "Assistant (auto)" and names["relais-translation"] == "Traduction (confidentiel)"


def test_non_streamed_completion(client, scripted_models):
    scripted_models.queue("fast", "Bonjour, que puis-je faire pour vous ?")
    response = client.post("/v1/chat/completions", json=_chat())
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Bonjour, que puis-je faire pour vous ?"}
    assert body["usage"]["completion_tokens"] > 0
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    assert body["relais"]["route"] == {"label": "general", "confidence": 1.0, "method": "explicit"}


def test_streamed_completion_chunk_by_chunk(client, scripted_models):
    scripted_models.queue("code", "Voici le code :\n```python\nprint('ok')\n```")
    response = client.post("/v1/chat/completions", json=_chat("relais-code", "un script", stream=True))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = _sse(response)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    statuses = [chunk["event"]["data"] for chunk in chunks if chunk.get("event", {}).get("type") == "status"]
    assert any("Assistant code" in status["description"] for status in statuses)
    assert statuses[-1]["done"] is True
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    # the model's answer, then the check of its Python, streamed as well (agents/code/graph.py)
    assert content.startswith("Voici le code :\n```python\nprint('ok')\n```\n\n---\n")
    assert content.endswith("- Bloc 1 : ✅ syntaxe valide, ruff sans remarque.")
    assert sum(bool(c["choices"] and c["choices"][0]["delta"].get("content")) for c in chunks) > 3
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finish[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)


def test_auto_model_routes_and_says_where(client, scripted_models):
    scripted_models.queue("code", "réponse code")
    body = client.post("/v1/chat/completions", json=_chat("relais-auto", "Écris une fonction Python")).json()
    assert body["relais"]["route"]["label"] == "code"
    assert body["choices"][0]["message"]["content"] == "réponse code"


def test_full_history_reaches_the_agent(client, scripted_models):
    scripted_models.queue("fast", "suite")
    messages = [
        {"role": "system", "content": "Réponds brièvement."},
        {"role": "user", "content": "Je m'appelle Léa."},
        {"role": "assistant", "content": "Bonjour Léa."},
        {"role": "user", "content": [{"type": "text", "text": "Comment je m'appelle ?"}]},
    ]
    client.post("/v1/chat/completions", json={"model": "relais-general", "messages": messages})
    seen = [message.content for message in scripted_models.calls("fast")[-1]]
    assert seen[1:] == ["Réponds brièvement.", "Je m'appelle Léa.", "Bonjour Léa.", "Comment je m'appelle ?"]


def test_open_webui_background_task_uses_the_fast_role_without_an_agent(client, scripted_models):
    scripted_models.queue("fast", '{"title": "Formation BPF"}')
    task = "### Task:\nGenerate a concise title summarizing the chat history.\n<chat_history>...</chat_history>"
    body = client.post("/v1/chat/completions", json=_chat("relais-regulatory-analysis", task)).json()
    assert body["choices"][0]["message"]["content"] == '{"title": "Formation BPF"}'
    assert body["relais"]["route"]["method"] == "task"
    assert scripted_models.calls("reasoning") == []


def test_unknown_model_is_404_openai_style(client):
    response = client.post("/v1/chat/completions", json=_chat("gpt-4"))
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "model_not_found" and "gpt-4" in error["message"]


def test_malformed_json_is_400(client):
    response = client.post("/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_schema_error_names_the_field(client):
    response = client.post("/v1/chat/completions", json={"model": "relais-auto", "messages": [{"content": "x"}]})
    assert response.status_code == 422
    assert "messages.0.role" in response.json()["error"]["message"]


def test_empty_messages_is_400(client):
    response = client.post("/v1/chat/completions", json={"model": "relais-auto", "messages": []})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "empty_messages"


def test_message_over_the_limit_is_413(client, monkeypatch):
    from relais.settings import get_settings

    monkeypatch.setenv("RELAIS_MAX_MESSAGE_CHARS", "100")
    get_settings.cache_clear()
    response = client.post("/v1/chat/completions", json=_chat(content="x" * 101))
    assert response.status_code == 413
    assert "limit is 100" in response.json()["error"]["message"]


def test_model_failure_is_an_openai_error_without_traceback(client, scripted_models):
    scripted_models.queue("fast", RuntimeError("secret internal detail"))
    response = client.post("/v1/chat/completions", json=_chat())
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["type"] == "server_error" and "secret internal detail" not in error["message"]
    assert "Traceback" not in response.text


def test_model_failure_while_streaming_is_an_error_event(client, scripted_models):
    scripted_models.queue("fast", RuntimeError("boom"))
    response = client.post("/v1/chat/completions", json=_chat(stream=True))
    chunks = _sse(response)
    assert chunks[-1]["error"]["code"] == "agent_failed"
    assert "boom" not in response.text and "Traceback" not in response.text


def test_langserve_routes_answer(client, scripted_models):
    scripted_models.queue("fast", "depuis LangServe")
    response = client.post("/agents/general/invoke", json={"input": {"messages": [{"type": "human", "content": "x"}]}})
    assert response.status_code == 200, response.text
    assert response.json()["output"]["messages"][-1]["content"] == "depuis LangServe"
    assert client.get("/agents/supervisor/playground/").status_code == 200
    assert client.get("/agents/supervisor/input_schema").status_code == 200


def test_exported_file_downloads_through_the_link_and_nothing_else_does(client):
    import io

    from docx import Document as WordDocument

    from relais.documents import Heading, RichDocument, export_docx

    exported = export_docx(RichDocument(title="SOP nettoyage", blocks=[Heading("1. Objet", 1)]), user_id="alice")
    path = exported.url.split("/files/", 1)[1]
    response = client.get(f"/files/{path}")
    assert response.status_code == 200
    assert WordDocument(io.BytesIO(response.content)).paragraphs
    assert client.get("/files/0123456789abcdef0123456789abcdef/absent.docx").status_code == 404
    assert client.get("/files/..%2F..%2Fetc/passwd").status_code == 404


@pytest.mark.parametrize("body, code", [
    ({"input": {"messages": [{"type": "human", "content": "x"}]}, "config": None}, "invalid_field"),
    ({"input": {"messages": [{"type": "tool", "content": "x", "tool_call_id": "1"}]}}, "invalid_message_type"),
    ({"input": {"messages": [{"type": "AIMessageChunk", "content": "", "tool_call_chunks": "AAA"}]}}, "invalid_field"),
])
def test_langserve_bodies_that_would_crash_it_are_422(client, body, code):
    response = client.post("/agents/general/invoke", json=body)
    assert response.status_code == 422 and response.json()["error"]["code"] == code


def test_langserve_body_that_is_not_json_is_400(client):
    response = client.post("/agents/general/invoke", content=b"\xff\xfe{", headers={"content-type": "application/json"})
    assert response.status_code == 400
