"""The guard applied to the LangChain messages of one remote model call."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage

from relais.guard.engine import inspect
from relais.guard.policy import GuardDecision, GuardPolicy, decide, redact


def guard_messages(messages: Sequence[BaseMessage], policy: GuardPolicy
                   ) -> tuple[list[BaseMessage], GuardDecision]:
    """Inspect every message about to go to a remote model and apply the agent's policy.

    All messages are inspected (system prompt with retrieved context, history, tool results),
    since all of them leave the company.

    Args:
        messages: the messages of the call.
        policy: the agent's policy: "local", "redact" or "refuse".

    Returns:
        The messages to send and the decision. "allow" and "local" return the messages unchanged
        (for "local" they go to a local model), "redact" returns redacted copies, "refuse" an
        empty list: nothing may be sent.
    """
    texts = [_text_of(message) for message in messages]
    report = inspect(texts)
    decision = decide(policy, report)
    if decision.action == "refuse":
        return [], decision
    if decision.action != "redact":
        return list(messages), decision
    redacted = [message.model_copy(update={"content": _redacted_content(message.content)}) for message in messages]
    return redacted, decision


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


def _redacted_content(content: str | list) -> str | list:
    """Content with each text (the string, or each text block) redacted on its own."""
    if isinstance(content, str):
        return _redact_text(content)
    blocks = []
    for block in content:
        if isinstance(block, str):
            blocks.append(_redact_text(block))
        elif isinstance(block, dict) and block.get("type") == "text":
            blocks.append({**block, "text": _redact_text(block.get("text", ""))})
        else:
            blocks.append(block)
    return blocks


def _redact_text(text: str) -> str:
    # inspect() caches by text, so this costs nothing for texts already inspected whole.
    return redact(text, inspect([text]))
