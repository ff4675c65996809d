"""A role's chain of models, with the confidentiality guard in front of every remote model.

The catalog resolves a role to models, best first. This module calls them in order, and before a
model that leaves the company (Mistral) it inspects everything the call would send and applies the
agent's guard policy: send it anyway (nothing found), redact it, keep it on the local models of the
chain, or refuse. Because the guard sits in front of each remote model rather than in front of the
first one, a local model that fails can never hand raw data to a remote fallback.

Text the caller marks `public` (pages fetched from the public web, the published GMP guide) is
left out of the inspection: it leaks nothing, and names or e-mails in a public page must not make
an agent refuse the user's clean question.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, convert_to_messages
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from relais.events import emit_governance, emit_status
from relais.guard import GuardDecision, GuardPolicy, guard_messages

logger = logging.getLogger(__name__)


class GuardRefused(RuntimeError):
    """The guard refused to send this request to a remote model; the message says why, for the user."""


@dataclass(frozen=True)
class Candidate:
    """One model of a chain: its name (`provider:model`), whether it is remote, and how to build it."""

    name: str
    is_remote: bool
    build: Callable[[], Runnable]


@dataclass
class _GuardCheck:
    """The guard's verdict for one call, computed at the first remote model and reused for the others."""

    policy: GuardPolicy
    public: Sequence[str]
    role: str
    decision: GuardDecision | None = None
    to_send: list[BaseMessage] = field(default_factory=list)

    def messages_for_remote(self, messages: list[BaseMessage],
                            config: RunnableConfig | None) -> list[BaseMessage] | None:
        """What may go to a remote model: the messages, their redacted copies, or None (local models only).

        Raises:
            GuardRefused: the policy is "refuse" and the messages hold personal or confidential data.
        """
        if self.decision is None:
            self.to_send, self.decision = guard_messages(messages, self.policy, public=self.public)
            emit_governance("guard", config=config, role=self.role, **self.decision.to_audit())
            if self.decision.action != "allow":
                emit_status(self.decision.message)
        if self.decision.action == "refuse":
            raise GuardRefused(self.decision.message)
        if self.decision.action == "local":
            return None
        return self.to_send


def as_messages(value: Any) -> list[BaseMessage]:
    """A model input (messages, a prompt value or plain text) as a list of messages."""
    if isinstance(value, str):
        return [HumanMessage(value)]
    if isinstance(value, PromptValue):
        return value.to_messages()
    return convert_to_messages(value)


def guarded_chain(candidates: Sequence[Candidate], role: str, policy: GuardPolicy,
                  public: Sequence[str] = ()) -> Runnable:
    """A runnable that tries `candidates` in order, guarding each remote one; it raises the last failure.

    Each model retries transient failures itself; a model that still fails hands over to the next.
    A guard refusal is final: no other model is tried.
    """

    def call(value: Any, config: RunnableConfig) -> Any:
        messages, check = as_messages(value), _GuardCheck(policy, public, role)
        failure: Exception | None = None
        for candidate in candidates:
            payload = check.messages_for_remote(messages, config) if candidate.is_remote else messages
            if payload is None:
                continue
            try:
                return candidate.build().invoke(payload, config)
            except Exception as error:  # noqa: BLE001 - any model failure hands over to the next model
                failure = _failed(candidate, error)
        raise failure or RuntimeError(f"no model may answer for role {role!r}")

    async def acall(value: Any, config: RunnableConfig) -> Any:
        messages, check = as_messages(value), _GuardCheck(policy, public, role)
        failure: Exception | None = None
        for candidate in candidates:
            payload: list[BaseMessage] | None = messages
            if candidate.is_remote:  # spaCy analysis is blocking: off the event loop
                payload = await asyncio.to_thread(check.messages_for_remote, messages, config)
            if payload is None:
                continue
            try:
                return await candidate.build().ainvoke(payload, config)
            except Exception as error:  # noqa: BLE001
                failure = _failed(candidate, error)
        raise failure or RuntimeError(f"no model may answer for role {role!r}")

    return RunnableLambda(call, afunc=acall, name=f"relais:{role}")


def _failed(candidate: Candidate, error: Exception) -> Exception:
    logger.warning("model %s failed (%s: %s); trying the next one", candidate.name, type(error).__name__, error)
    return error
