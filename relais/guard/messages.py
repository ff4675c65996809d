"""The guard applied to the LangChain messages of one remote model call."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage

from relais.guard.engine import inspect
from relais.guard.policy import GuardDecision, GuardPolicy, decide, redact, strictest
from relais.settings import get_settings


def guard_messages(messages: Sequence[BaseMessage], policy: GuardPolicy, *, public: Sequence[str] = ()
                   ) -> tuple[list[BaseMessage], GuardDecision]:
    """Inspect every message about to go to a remote model and apply the agent's policy.

    All messages are inspected (system prompt with retrieved context, history, tool results, and
    the arguments of earlier tool calls), since all of them leave the company, except the `public`
    texts they contain (a page fetched from the public web, the published GMP guide): those leak
    nothing, so they neither count in the decision nor get redacted.

    Args:
        messages: the messages of the call.
        policy: the agent's policy: "local", "redact" or "refuse", raised to the deployment's
            `RELAIS_GUARD_POLICY` when that is stricter.
        public: texts, as they appear inside the messages, that are public already.

    Returns:
        The messages to send and the decision. "allow" and "local" return the messages unchanged
        (for "local" they go to a local model), "redact" returns redacted copies, "refuse" an
        empty list: nothing may be sent.
    """
    public = [text for text in public if text.strip()]
    texts = [part for message in messages for part in _private_parts(_text_of(message), public)]
    texts += [value for message in messages for value in _tool_call_strings(message)]
    report = inspect(texts)
    decision = decide(strictest(policy, get_settings().guard_policy), report)
    if decision.action == "refuse":
        return [], decision
    if decision.action != "redact":
        return list(messages), decision
    return [_redacted_message(message, public) for message in messages], decision


def _private_parts(text: str, public: Sequence[str]) -> list[str]:
    """The pieces of `text` outside every public text (the whole text when none occurs in it)."""
    return [piece for piece, is_public in _split_public(text, public) if not is_public]


def _split_public(text: str, public: Sequence[str]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is public) runs, in order."""
    pieces: list[tuple[str, bool]] = [(text, False)]
    for shared in public:
        cut: list[tuple[str, bool]] = []
        for piece, is_public in pieces:
            if is_public or shared not in piece:
                cut.append((piece, is_public))
                continue
            for index, private in enumerate(piece.split(shared)):
                if index:
                    cut.append((shared, True))
                cut.append((private, False))
        pieces = cut
    return [(piece, is_public) for piece, is_public in pieces if piece]


def _redacted_message(message: BaseMessage, public: Sequence[str] = ()) -> BaseMessage:
    update: dict = {"content": _redacted_content(message.content, public)}
    if isinstance(message, AIMessage) and message.tool_calls:
        update["tool_calls"] = [{**call, "args": _redacted_value(call["args"])} for call in message.tool_calls]
    return message.model_copy(update=update)


def _tool_call_strings(message: BaseMessage) -> list[str]:
    """The string values in the arguments of a message's tool calls (a local model may have put data there)."""
    if not isinstance(message, AIMessage):
        return []
    strings: list[str] = []
    for call in message.tool_calls:
        _collect_strings(call["args"], strings)
    return strings


def _collect_strings(value: object, strings: list[str]) -> None:
    if isinstance(value, str):
        strings.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _collect_strings(item, strings)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect_strings(item, strings)


def _redacted_value(value: object) -> object:
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, dict):
        return {key: _redacted_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted_value(item) for item in value]
    return value


def _text_of(message: BaseMessage) -> str:
    """The text of a message: its string content, or its text blocks joined by new lines."""
    if isinstance(message.content, str):
        return message.content
    return "\n".join(_block_texts(message.content))


def _block_texts(content: list) -> list[str]:
    texts = []
    for block in content:
        if isinstance(block, str):
            texts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            texts.append(block.get("text", ""))
    return texts


def _redacted_content(content: str | list, public: Sequence[str] = ()) -> str | list:
    """Content with each text (the string, or each text block) redacted on its own, public texts kept."""
    if isinstance(content, str):
        return _redact_private(content, public)
    blocks: list[str | dict] = []
    for block in content:
        if isinstance(block, str):
            blocks.append(_redact_private(block, public))
        elif isinstance(block, dict) and block.get("type") == "text":
            blocks.append({**block, "text": _redact_private(block.get("text", ""), public)})
        else:
            blocks.append(block)
    return blocks


def _redact_private(text: str, public: Sequence[str]) -> str:
    return "".join(piece if is_public else _redact_text(piece) for piece, is_public in _split_public(text, public))


def _redact_text(text: str) -> str:
    # inspect() caches by text, so this costs nothing for texts already inspected whole.
    return redact(text, inspect([text]))
