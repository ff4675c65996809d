"""The answer a user sees: the tag of the models that write it, answers built in code, and usage.

The server streams only the tokens of models tagged `ANSWER_TAG`. A graph that assembles its answer
(translation parts, a rendered structured output) publishes each finished piece through a verbatim
"model" carrying that tag: the user sees the answer grow, and the final message equals what was shown.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

ANSWER_TAG = "relais:answer"  # the server streams only the tokens of models carrying this tag

_PIECE = re.compile(r"[^\n]*\n|[^\n]+")


class VerbatimText(BaseChatModel):
    """Says the text of the last message it is given, line by line; calls nothing, costs nothing."""

    @property
    def _llm_type(self) -> str:
        return "relais-verbatim"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=messages[-1].text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for piece in _PIECE.findall(messages[-1].text):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk


def publish_answer(text: str) -> AIMessage:
    """Stream `text` as answer tokens (when someone streams the run); return it as a message."""
    if text:
        VerbatimText().with_config(tags=[ANSWER_TAG], run_name="publish_answer").invoke([AIMessage(content=text)])
    return AIMessage(content=text)


def usage_total(by_model: dict[str, Any], started: float, calls: int) -> dict[str, Any]:
    """A run's usage from `get_usage_metadata_callback()` (structured outputs hide the raw message)."""
    totals = {"input_tokens": 0, "output_tokens": 0}
    for usage in by_model.values():
        totals["input_tokens"] += usage.get("input_tokens", 0)
        totals["output_tokens"] += usage.get("output_tokens", 0)
    return {**totals, "model_calls": calls, "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            "model": ", ".join(by_model)}


def usage_of(message: BaseMessage, latency_s: float) -> dict[str, Any]:
    """Token counts, model name and latency of one model answer, for the run's usage total."""
    usage = getattr(message, "usage_metadata", None) or {}
    metadata = getattr(message, "response_metadata", None) or {}
    return {
        "input_tokens": usage.get("input_tokens", 0),
        "output_tokens": usage.get("output_tokens", 0),
        "model_calls": 1,
        "latency_ms": round(latency_s * 1000, 1),
        "model": metadata.get("model_name") or metadata.get("model") or "",
    }
