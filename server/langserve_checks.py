"""Request checks in front of the LangServe routes.

LangServe 0.3 validates bodies against a loose schema and lets some malformed ones through to code
that then fails with a 500 (a `config` of null, a message that LangChain cannot build). These checks
answer such requests with a 422 that says what is wrong, using LangChain's own message classes.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    HumanMessageChunk,
    SystemMessage,
    SystemMessageChunk,
)
from pydantic import ValidationError

from server.errors import ApiError

# What callers may put in a conversation (tool messages are the agents' own business), by `type`.
CONVERSATION_MESSAGES = {
    cls.model_fields["type"].default: cls
    for cls in (HumanMessage, HumanMessageChunk, AIMessage, AIMessageChunk, SystemMessage, SystemMessageChunk)
}
RUNNABLE_ENDPOINTS = ("/invoke", "/batch", "/stream", "/stream_log", "/stream_events")


def _refuse(message: str, code: str = "invalid_field") -> ApiError:
    return ApiError(422, message, error_type="invalid_request_error", code=code)


def _check_message(message: Any) -> None:
    kind = message.get("type") if isinstance(message, dict) else None
    cls = CONVERSATION_MESSAGES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise _refuse(f"a conversation holds human, ai or system messages, not {kind or message!r}",
                      "invalid_message_type")
    try:
        cls.model_validate(message)
    except (ValidationError, KeyError, TypeError, ValueError, AttributeError) as error:  # what LangChain raises
        raise _refuse(f"invalid {kind} message: {error}") from None


def conversation_messages(raw: list[Any]) -> list[BaseMessage]:
    """LangServe's message dicts as LangChain messages, with the classes LangServe itself accepts.

    `convert_to_messages` does not know the chunk types ("SystemMessageChunk"...) LangServe's schema
    admits; the checks above have already refused anything else.
    """
    for message in raw:
        _check_message(message)
    return [CONVERSATION_MESSAGES[message["type"]].model_validate(message) for message in raw]


def request_inputs(body: Any) -> list[Any]:
    """The inputs of a LangServe request body: `inputs` of a batch, else the one `input`."""
    if not isinstance(body, dict):
        return []
    return body["inputs"] if isinstance(body.get("inputs"), list) else [body.get("input")]


async def check_langserve_body(request: Request) -> None:
    """FastAPI dependency: refuse bodies LangServe would turn into a 500."""
    if request.method != "POST" or not request.url.path.endswith(RUNNABLE_ENDPOINTS):
        return
    try:
        body = await request.json()
    except ValueError:  # UnicodeDecodeError included: LangServe would fail on it with a 500
        raise ApiError(400, "request body is not valid JSON", error_type="invalid_request_error",
                       code="invalid_json") from None
    if not isinstance(body, dict):
        return
    for field in ("config", "kwargs"):
        if field in body and not isinstance(body[field], dict | str):
            raise _refuse(f"'{field}' must be an object (or be left out for the defaults)")
    for item in request_inputs(body):
        messages = item.get("messages") if isinstance(item, dict) else None
        for message in messages if isinstance(messages, list) else []:
            _check_message(message)
