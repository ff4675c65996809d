"""The scripted fake model behaves like a chat model, so tests built on it mean something."""

from __future__ import annotations

import asyncio
import time

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel

from tests.fakes.scripted_model import ScriptedChatModel, ScriptExhaustedError, split_tokens, tool_call


class Verdict(BaseModel):
    label: str
    confidence: float


@tool
def search_guide(query: str) -> str:
    """Search the GMP guide."""
    return f"results for {query}"


def test_replies_in_order_and_records_messages():
    model = ScriptedChatModel(responses=["premier", "second"])
    assert model.invoke("a").content == "premier"
    assert model.invoke([HumanMessage("b")]).content == "second"
    assert [call[-1].content for call in model.calls] == ["a", "b"]


def test_echoes_when_script_is_exhausted_unless_strict():
    assert ScriptedChatModel().invoke("bonjour").content == "echo: bonjour"
    with pytest.raises(ScriptExhaustedError):
        ScriptedChatModel(strict=True).invoke("bonjour")


def test_callable_and_exception_responses():
    model = ScriptedChatModel(responses=[lambda messages: f"{len(messages)} messages", RuntimeError("down")])
    assert model.invoke([HumanMessage("x"), HumanMessage("y")]).content == "2 messages"
    with pytest.raises(RuntimeError, match="down"):
        model.invoke("z")


def test_usage_metadata_on_invoke():
    message = ScriptedChatModel(responses=["trois mots ici"]).invoke("question")
    assert message.usage_metadata["output_tokens"] == 3
    assert message.usage_metadata["total_tokens"] == (
        message.usage_metadata["input_tokens"] + message.usage_metadata["output_tokens"]
    )


def test_stream_comes_in_chunks_with_usage_last():
    text = "Le guide BPF exige une validation des systèmes informatisés."
    chunks = list(ScriptedChatModel(responses=[text]).stream("q"))
    assert len(chunks) == len(split_tokens(text)) > 3
    assert "".join(chunk.content for chunk in chunks) == text
    assert all(chunk.usage_metadata is None for chunk in chunks[:-1])
    assert chunks[-1].usage_metadata["output_tokens"] == len(chunks)


def test_astream_matches_stream():
    async def collect():
        return [chunk.content async for chunk in ScriptedChatModel(responses=["a b c"]).astream("q")]

    assert "".join(asyncio.run(collect())) == "a b c"


def test_bind_tools_records_tools_and_emits_tool_calls():
    model = ScriptedChatModel(responses=[tool_call("search_guide", {"query": "annexe 11"}), "fini"])
    bound = model.bind_tools([search_guide], tool_choice="any")
    first = bound.invoke("cherche")
    assert model.bound_tools[0]["function"]["name"] == "search_guide"
    assert model.tool_choice == "any"
    assert model.call_kwargs[0]["tools"][0]["function"]["name"] == "search_guide"
    assert first.tool_calls[0]["args"] == {"query": "annexe 11"}
    reply = bound.invoke(["cherche", first, ToolMessage("ok", tool_call_id=first.tool_calls[0]["id"])])
    assert reply.content == "fini"
    assert isinstance(model.calls[1][-1], ToolMessage)


def test_streamed_tool_calls_aggregate():
    model = ScriptedChatModel(responses=[tool_call("search_guide", {"query": "q"})])
    total = None
    for chunk in model.stream("x"):
        total = chunk if total is None else total + chunk
    assert total.tool_calls[0]["name"] == "search_guide"
    assert total.tool_calls[0]["args"] == {"query": "q"}


@pytest.mark.parametrize(
    "scripted",
    [{"label": "code", "confidence": 0.9}, '{"label": "code", "confidence": 0.9}',
     Verdict(label="code", confidence=0.9), AIMessage("", tool_calls=[
         {"name": "Verdict", "args": {"label": "code", "confidence": 0.9}, "id": "1"}])],
)
def test_structured_output(scripted):
    verdict = ScriptedChatModel(responses=[scripted]).with_structured_output(Verdict).invoke("q")
    assert verdict == Verdict(label="code", confidence=0.9)


def test_structured_output_include_raw_reports_parsing_error():
    result = ScriptedChatModel(responses=["pas du JSON"]).with_structured_output(Verdict, include_raw=True).invoke("q")
    assert result["parsed"] is None
    assert result["parsing_error"] is not None
    assert result["raw"].content == "pas du JSON"


def test_fixed_latency_per_token():
    model = ScriptedChatModel(responses=["un deux trois quatre"], token_latency_ms=20)
    started = time.perf_counter()
    list(model.stream("q"))
    assert time.perf_counter() - started >= 0.08


def test_scripted_models_fixture_routes_every_role(scripted_models):
    from relais.models.catalog import ROLES, get_chat_model

    scripted_models.queue("drafting", "réponse rédigée")
    assert get_chat_model("drafting", "internal").invoke("q").content == "réponse rédigée"
    assert get_chat_model("translation", "confidential").invoke("hello").content == "echo: hello"
    assert scripted_models.calls("drafting")[0][-1].content == "q"
    for role in ROLES:
        get_chat_model(role, "public")


def test_scripted_models_fixture_never_loads_the_embedded_model(scripted_models):
    from relais.models.catalog import PROVIDERS, ModelSpec, get_chat_model
    from tests.fakes.fixtures import EmbeddedModelDisabledError

    scripted_models.queue("fast", ConnectionError("fake down"))
    with pytest.raises(ConnectionError):
        get_chat_model("fast", "public").invoke("q")
    with pytest.raises(EmbeddedModelDisabledError):
        PROVIDERS["embedded"](ModelSpec("embedded", "default"), "fast", None)


def test_scripted_models_fixture_tools_and_schema(scripted_models):
    from relais.models.catalog import get_chat_model

    scripted_models.queue("router", {"label": "code", "confidence": 0.7})
    scripted_models.queue("code", tool_call("search_guide", {"query": "x"}))
    assert get_chat_model("router", "internal", schema=Verdict).invoke("q").label == "code"
    message = get_chat_model("code", "internal", tools=[search_guide]).invoke("q")
    assert message.tool_calls[0]["name"] == "search_guide"
    assert scripted_models.model("code").bound_tools[0]["function"]["name"] == "search_guide"
