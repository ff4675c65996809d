"""EmbeddedChatModel's own logic (usage, tool choice, text tool calls, assembly) with a stand-in llama.cpp."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from langchain_core.tools import tool

from relais.models import embedded
from relais.models.embedded import EmbeddedChatModel, EmbeddedModelError, ensure_default_gguf


@tool
def search_guide(query: str) -> str:
    """Search the GMP guide."""
    return query


@tool
def translate(text: str) -> str:
    """Translate a text."""
    return text


class FakeLlama:
    """Answers like llama_cpp.Llama.create_chat_completion; records the parameters it got."""

    def __init__(self, content="", tool_calls=None):
        self.content = content
        self.tool_calls = tool_calls
        self.requests: list[dict] = []
        self.n_tokens = 0

    def create_chat_completion(self, messages, stream=False, **params):
        self.requests.append({"messages": messages, "stream": stream, **params})
        prompt = 10 * len(messages)
        if not stream:
            message = {"role": "assistant", "content": self.content}
            if self.tool_calls:
                message["tool_calls"] = self.tool_calls
            return {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": prompt, "completion_tokens": 4, "total_tokens": prompt + 4}}
        pieces = self.content.split(" ")
        self.n_tokens = prompt + len(pieces)
        return iter(
            [{"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}]
            + [{"choices": [{"index": 0, "delta": {"content": p if i == 0 else " " + p}, "finish_reason": None}]}
               for i, p in enumerate(pieces)]
            + [{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
        )


@pytest.fixture
def llama(monkeypatch):
    fake = FakeLlama()
    monkeypatch.setattr(embedded, "_shared_llama", lambda *args: fake)
    return fake


def model(**kwargs) -> EmbeddedChatModel:
    return EmbeddedChatModel(model_path="/nowhere.gguf", verbose=False, **kwargs)


def test_invoke_reports_usage(llama):
    llama.content = "Paris"
    message = model().invoke("capitale ?")
    assert message.content == "Paris"
    assert message.usage_metadata == {"input_tokens": 10, "output_tokens": 4, "total_tokens": 14}


def test_stream_ends_with_usage(llama):
    llama.content = "un deux trois"
    chunks = list(model().stream("q"))
    assert "".join(chunk.text for chunk in chunks) == "un deux trois"
    assert chunks[-1].usage_metadata == {"input_tokens": 10, "output_tokens": 3, "total_tokens": 13}


def test_streaming_flag_does_not_deadlock(llama):
    llama.content = "ok"
    finished = []
    worker = threading.Thread(target=lambda: finished.append(model(streaming=True).invoke("q")), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert finished and finished[0].content == "ok"


@pytest.mark.parametrize("choice", ["search_guide", "any", "required", True])
def test_forced_tool_choice_becomes_llama_form(llama, choice):
    llama.tool_calls = [{"id": "c1", "type": "function",
                         "function": {"name": "search_guide", "arguments": '{"query": "annexe 11"}'}}]
    message = model().bind_tools([search_guide], tool_choice=choice).invoke("q")
    assert llama.requests[0]["tool_choice"] == {"type": "function", "function": {"name": "search_guide"}}
    assert message.tool_calls[0]["args"] == {"query": "annexe 11"}


def test_any_with_several_tools_lets_the_model_choose(llama):
    model().bind_tools([search_guide, translate], tool_choice="any").invoke("q")
    assert llama.requests[0]["tool_choice"] is None


def test_unknown_tool_choice_is_refused(llama):
    with pytest.raises(ValueError, match="names no bound tool"):
        model().bind_tools([search_guide], tool_choice="web_search")


@pytest.mark.parametrize("text", [
    '<tool_call>\n{"name": "translate", "arguments": {"text": "contrat"}}\n</tool_call>',
    '```json\n{"name": "translate", "arguments": {"text": "contrat"}}\n```',
    '{"name": "translate", "parameters": "{\\"text\\": \\"contrat\\"}"}',
])
def test_tool_call_written_as_text_is_recognised(llama, text):
    llama.content = text
    message = model().bind_tools([search_guide, translate]).invoke("q")
    assert message.tool_calls[0]["name"] == "translate"
    assert message.tool_calls[0]["args"] == {"text": "contrat"}
    assert message.content == ""


@pytest.mark.parametrize("text", [
    '{"name": "rm_rf", "arguments": {}}',
    'Voici: {"name": "translate", "arguments": {"text": "x"}}',
    '{"label": "code"}',
])
def test_other_text_stays_text(llama, text):
    llama.content = text
    message = model().bind_tools([search_guide, translate]).invoke("q")
    assert message.tool_calls == []
    assert message.content == text


def test_streamed_text_tool_call_arrives_whole(llama):
    llama.content = json.dumps({"name": "translate", "arguments": {"text": "contrat"}})
    total = None
    for chunk in model().bind_tools([translate]).stream("q"):
        total = chunk if total is None else total + chunk
    assert total.tool_calls[0]["args"] == {"text": "contrat"}
    assert llama.requests[0]["stream"] is False


def test_assembly_refuses_a_wrong_hash_and_leaves_nothing(tmp_path, monkeypatch):
    part = tmp_path / "part.bin"
    part.write_bytes(b"GGUF....")
    monkeypatch.setattr(embedded, "_part_paths", lambda: [part])
    monkeypatch.setattr(embedded, "DEFAULT_GGUF_SHA256", hashlib.sha256(b"other").hexdigest())
    with pytest.raises(EmbeddedModelError, match="reinstall"):
        ensure_default_gguf(tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_assembly_reports_progress(tmp_path, monkeypatch):
    parts = [tmp_path / "a", tmp_path / "b"]
    parts[0].write_bytes(b"x" * 10)
    parts[1].write_bytes(b"y" * 5)
    monkeypatch.setattr(embedded, "_part_paths", lambda: parts)
    monkeypatch.setattr(embedded, "DEFAULT_GGUF_SHA256", hashlib.sha256(b"x" * 10 + b"y" * 5).hexdigest())
    seen: list[tuple[int, int]] = []
    path = ensure_default_gguf(tmp_path / "models", progress=lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == b"x" * 10 + b"y" * 5
    assert seen == [(10, 15), (15, 15)]


def test_missing_gguf_file_is_a_clear_error(tmp_path):
    with pytest.raises(EmbeddedModelError, match="not found|not installed"):
        EmbeddedChatModel(model_path=str(tmp_path / "absent.gguf"), verbose=False)
