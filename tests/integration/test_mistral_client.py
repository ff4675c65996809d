"""The real Mistral client (ChatMistralAI) through the catalog, against a local fake Mistral server.

A second fake server stands in for RELAIS_LOCAL_BASE_URL (Ollama, vLLM), so the fallback is real
HTTP too and the embedded GGUF is never loaded.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel

from relais.models import catalog
from relais.models.catalog import get_chat_model
from relais.settings import get_settings
from tests.fakes.mistral_server import Reply

pytestmark = pytest.mark.integration


class Classification(BaseModel):
    label: str
    confidence: float


@tool
def search_guide(query: str) -> str:
    """Search the GMP guide for a passage."""
    return f"Annexe 11: {query}"


@pytest.fixture(autouse=True)
def no_embedded_model(monkeypatch):
    def refuse(spec, role, settings):
        raise RuntimeError("the embedded model must not load in these tests")

    monkeypatch.setitem(catalog.PROVIDERS, "embedded", refuse)


@pytest.fixture
def mistral(use_fake_mistral, use_fake_local, monkeypatch):
    """Mistral first, then the local server; retries kept fast."""
    monkeypatch.setenv("RELAIS_MODEL_MAX_RETRIES", "2")
    get_settings.cache_clear()
    return use_fake_mistral


def set_env(monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def test_plain_invoke_reaches_mistral_with_key_model_and_limits(mistral, fake_local):
    mistral.queue("Bonjour, je suis Mistral.")
    message = get_chat_model("drafting", "internal").invoke("Bonjour")
    assert message.content == "Bonjour, je suis Mistral."
    assert message.usage_metadata["output_tokens"] > 0
    [request] = [r for r in mistral.requests if r.path.endswith("/chat/completions")]
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.body["model"] == "mistral-large-latest"
    assert request.body["max_tokens"] == catalog.MAX_TOKENS["drafting"]
    assert request.body["messages"] == [{"role": "user", "content": "Bonjour"}]
    assert fake_local.requests == []


def test_wrong_key_is_not_accepted(mistral, fake_local):
    mistral.api_key = "another-key"
    fake_local.queue("réponse locale")
    assert get_chat_model("fast", "public").invoke("q").content == "réponse locale"
    assert len(mistral.chat_requests) == 1  # 401 is not retried


def test_streamed_chunks_then_usage(mistral):
    text = "Le chapitre 4 du guide traite de la documentation."
    mistral.queue(text)
    chunks = list(get_chat_model("drafting", "internal").stream("Résume"))
    contents = [chunk.content for chunk in chunks if chunk.content]
    assert len(contents) > 3
    assert "".join(contents) == text
    usage = [chunk.usage_metadata for chunk in chunks if chunk.usage_metadata]
    assert len(usage) == 1
    assert usage[0]["output_tokens"] == len(contents)
    assert chunks.index(next(c for c in chunks if c.usage_metadata)) > chunks.index(
        next(c for c in chunks if c.content))
    assert mistral.chat_requests[0]["stream"] is True


def test_async_stream(mistral):
    mistral.queue("un deux trois")

    async def collect():
        return [chunk async for chunk in get_chat_model("fast", "public").astream("q")]

    chunks = asyncio.run(collect())
    assert "".join(chunk.content for chunk in chunks) == "un deux trois"
    assert any(chunk.usage_metadata for chunk in chunks)


def test_tool_call_round_trip(mistral):
    mistral.queue(Reply.tool("search_guide", {"query": "systèmes informatisés"}), "L'annexe 11 s'applique.")
    model = get_chat_model("reasoning", "internal", tools=[search_guide])
    first = model.invoke([HumanMessage("Que dit le guide ?")])
    [call] = first.tool_calls
    assert call["name"] == "search_guide"
    assert call["args"] == {"query": "systèmes informatisés"}
    assert len(call["id"]) == 9 and call["id"].isalnum()
    result = search_guide.invoke(call["args"])
    final = model.invoke([HumanMessage("Que dit le guide ?"), first, ToolMessage(result, tool_call_id=call["id"])])
    assert final.content == "L'annexe 11 s'applique."
    first_body, second_body = mistral.chat_requests
    assert first_body["tools"][0]["function"]["name"] == "search_guide"
    assert "query" in first_body["tools"][0]["function"]["parameters"]["properties"]
    assistant, tool_message = second_body["messages"][1:]
    assert assistant["tool_calls"][0]["id"] == call["id"]
    assert (tool_message["role"], tool_message["content"], tool_message["tool_call_id"]) == ("tool", result, call["id"])


def test_streamed_tool_call(mistral):
    mistral.queue(Reply.tool("search_guide", {"query": "BPF"}))
    total = None
    for chunk in get_chat_model("reasoning", "internal", tools=[search_guide]).stream("q"):
        total = chunk if total is None else total + chunk
    assert total.tool_calls[0]["args"] == {"query": "BPF"}


def test_structured_output(mistral):
    mistral.queue(Reply.structured_output({"label": "regulatory_analysis", "confidence": 0.8}))
    result = get_chat_model("router", "internal", schema=Classification).invoke("Annexe 1 ?")
    assert result == Classification(label="regulatory_analysis", confidence=0.8)
    body = mistral.chat_requests[0]
    assert body["tool_choice"] == "any"
    assert body["tools"][0]["function"]["name"] == "Classification"
    assert body["model"] == "mistral-small-latest"


def test_json_mode(mistral):
    mistral.queue({"label": "code", "confidence": 0.5})
    model = catalog.build_chat_model(catalog.ModelSpec("mistral", "mistral-small-latest"), "router")
    result = model.with_structured_output(Classification, method="json_mode").invoke("q")
    assert result.label == "code"
    assert mistral.chat_requests[0]["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retries_transient_errors_then_succeeds(mistral, fake_local, status):
    mistral.fail_next(2, status=status)
    mistral.queue("enfin")
    assert get_chat_model("fast", "public").invoke("q").content == "enfin"
    assert len(mistral.chat_requests) == 3
    assert fake_local.requests == []


def test_retries_before_a_stream_starts(mistral, fake_local):
    mistral.fail_next(1, status=429)
    mistral.queue("flux rétabli")
    chunks = list(get_chat_model("fast", "public").stream("q"))
    assert "".join(chunk.content for chunk in chunks) == "flux rétabli"
    assert len(mistral.chat_requests) == 2
    assert fake_local.requests == []


def test_async_retries(mistral):
    mistral.fail_next(1, status=503)
    mistral.queue("ok")
    assert asyncio.run(get_chat_model("fast", "public").ainvoke("q")).content == "ok"
    assert len(mistral.chat_requests) == 2


def test_client_errors_are_not_retried(mistral, fake_local):
    mistral.fail_next(1, status=400)
    fake_local.queue("local")
    assert get_chat_model("fast", "public").invoke("q").content == "local"
    assert len(mistral.chat_requests) == 1


def test_falls_back_to_local_server_when_mistral_is_down(mistral, fake_local):
    mistral.fail_next(10, status=500)
    fake_local.queue("réponse du serveur local")
    message = get_chat_model("drafting", "internal").invoke("q")
    assert message.content == "réponse du serveur local"
    assert len(mistral.chat_requests) == 3  # one call and two retries
    [local] = fake_local.chat_requests
    assert local["model"] == "qwen2.5:7b-instruct"
    assert local["max_tokens"] == local["max_completion_tokens"] == catalog.MAX_TOKENS["drafting"]
    assert local["messages"] == [{"role": "user", "content": "q"}]


def test_streamed_fallback_uses_openai_dialect_with_usage(mistral, fake_local):
    mistral.fail_next(10, status=503)
    fake_local.queue("flux local")
    chunks = list(get_chat_model("drafting", "internal").stream("q"))
    assert "".join(chunk.content for chunk in chunks) == "flux local"
    assert any(chunk.usage_metadata for chunk in chunks)
    assert fake_local.chat_requests[0]["stream_options"] == {"include_usage": True}


def test_unreachable_mistral_falls_back(use_fake_local, monkeypatch):
    set_env(monkeypatch, MISTRAL_API_KEY="k", MISTRAL_BASE_URL="http://127.0.0.1:9/v1", RELAIS_MODEL_MAX_RETRIES="1")
    use_fake_local.queue("local")
    assert get_chat_model("fast", "public").invoke("q").content == "local"


def test_timeout_falls_back_to_local(mistral, fake_local, monkeypatch):
    set_env(monkeypatch, RELAIS_MODEL_TIMEOUT_S="0.5", RELAIS_MODEL_MAX_RETRIES="1")
    mistral.hang_next(1, seconds=5)
    fake_local.queue("local après délai")
    assert get_chat_model("fast", "public").invoke("q").content == "local après délai"
    assert len(mistral.chat_requests) == 1


def test_timeout_without_fallback_raises(use_fake_mistral, monkeypatch):
    set_env(monkeypatch, RELAIS_MODEL_TIMEOUT_S="0.5", RELAIS_MODEL_MAX_RETRIES="1")
    use_fake_mistral.hang_next(1, seconds=5)
    model = catalog.build_chat_model(catalog.ModelSpec("mistral", "mistral-small-latest"), "fast")
    with pytest.raises(httpx.TimeoutException):
        model.invoke("q")


def test_confidential_role_never_reaches_mistral(mistral, fake_local, monkeypatch):
    set_env(monkeypatch, RELAIS_MODELS="translation=mistral:mistral-large-latest")
    fake_local.queue("traduction locale", "flux local", Reply.tool("search_guide", {"query": "x"}),
                     Reply.structured_output({"label": "translation", "confidence": 1.0}))
    assert get_chat_model("translation", "confidential").invoke("Translate: contrat").content == "traduction locale"
    assert "".join(c.content for c in get_chat_model("translation", "confidential").stream("q")) == "flux local"
    tools_model = get_chat_model("translation", "confidential", tools=[search_guide],
                                 overrides={"translation": "mistral:codestral-latest"})
    assert tools_model.invoke("q").tool_calls[0]["name"] == "search_guide"
    assert get_chat_model("translation", "confidential", schema=Classification).invoke("q").label == "translation"
    assert mistral.requests == []
    assert len(fake_local.chat_requests) == 4


def test_confidential_without_local_server_still_never_calls_mistral(use_fake_mistral, monkeypatch):
    set_env(monkeypatch, RELAIS_MODELS="translation=mistral:mistral-large-latest")
    with pytest.raises(RuntimeError, match="embedded model must not load"):
        get_chat_model("translation", "confidential").invoke("q")
    assert use_fake_mistral.requests == []


def test_models_route(fake_mistral):
    response = httpx.get(f"{fake_mistral.base_url}/models")
    assert "mistral-small-latest" in [model["id"] for model in response.json()["data"]]
