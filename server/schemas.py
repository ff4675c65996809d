"""OpenAI Chat Completions request and response shapes, as Open WebUI sends and reads them."""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field


class ChatMessage(BaseModel):
    """One message of the conversation; content may be a string or a list of parts."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text; non-text parts (images, files) are not read by Relais agents."""
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return "\n".join(str(part.get("text", "")) for part in parts if part.get("type") == "text")


class ChatCompletionRequest(BaseModel):
    """The fields Relais reads; Open WebUI's other fields (temperature, metadata...) are accepted."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[ChatMessage]
    stream: bool = False
    user: str | None = None


def to_langchain(messages: list[ChatMessage]) -> list[BaseMessage]:
    """The conversation as LangChain messages (tool messages from the client are not replayed)."""
    converted: list[BaseMessage] = []
    for message in messages:
        text = message.text()
        if message.role in ("system", "developer"):
            converted.append(SystemMessage(text))
        elif message.role == "user":
            converted.append(HumanMessage(text))
        elif message.role == "assistant" and text:
            converted.append(AIMessage(text))
    return converted


def completion_id() -> str:
    """A fresh OpenAI-style completion id."""
    return "chatcmpl-" + uuid.uuid4().hex[:24]


def openai_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Relais's usage totals in OpenAI's names, with the extra figures Relais measures."""
    prompt, completion = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    extra: dict[str, Any] = {key: usage[key] for key in ("energy_kwh", "co2_kg", "model", "provider") if key in usage}
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion, **extra}


def url_citations(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Web sources as OpenAI `url_citation` annotations."""
    return [{"type": "url_citation", "url_citation": {"url": source["url"], "title": source["title"]}}
            for source in sources if source.get("url")]


def completion_body(cid: str, model: str, content: str, usage: dict[str, Any], extra: dict[str, Any]) -> dict:
    """A non-streamed chat completion (web sources also as `url_citation` annotations)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if annotations := url_citations(extra.get("sources") or []):
        message["annotations"] = annotations
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": openai_usage(usage),
        **extra,
    }


def chunk_body(cid: str, model: str, delta: dict[str, Any], finish_reason: str | None = None) -> dict:
    """One streamed chunk."""
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
