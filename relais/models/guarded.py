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
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForChainRun, CallbackManagerForChainRun
from langchain_core.messages import BaseMessage, HumanMessage, convert_to_messages
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig

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
    """A runnable that tries `candidates` in order, guarding each remote one (see `GuardedChain`)."""
    return GuardedChain(candidates, role, policy, public)


class GuardedChain(Runnable[Any, Any]):
    """The models of a role, best first, each remote one behind the guard; invoked or streamed.

    Each model retries transient failures itself; one that still fails (before its first streamed
    chunk) hands over to the next, and the first failure is raised when none answers. A guard
    refusal is final: no other model is tried.
    """

    def __init__(self, candidates: Sequence[Candidate], role: str, policy: GuardPolicy,
                 public: Sequence[str] = ()) -> None:
        self.candidates, self.role, self.policy, self.public = list(candidates), role, policy, list(public)
        self.name = f"relais:{role}"

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """The first answer a model of the chain gives."""
        return self._call_with_config(self._invoke, input, config, **kwargs)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """`invoke`, without blocking the event loop."""
        return await self._acall_with_config(self._ainvoke, input, config, **kwargs)

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:
        """The chunks of the first model that starts answering."""
        yield from self._transform_stream_with_config(iter([input]), self._stream, config, **kwargs)

    async def astream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        """`stream`, asynchronously."""

        async def single() -> AsyncIterator[Any]:
            yield input

        async for chunk in self._atransform_stream_with_config(single(), self._astream, config, **kwargs):
            yield chunk

    def _payloads(self, value: Any, config: RunnableConfig) -> Iterator[tuple[Candidate, list[BaseMessage]]]:
        """Each candidate with what it may receive, remote ones guarded; local-only verdicts skip them."""
        messages, check = as_messages(value), _GuardCheck(self.policy, self.public, self.role)
        for candidate in self.candidates:
            payload = check.messages_for_remote(messages, config) if candidate.is_remote else messages
            if payload is not None:
                yield candidate, payload

    async def _apayloads(self, value: Any,
                         config: RunnableConfig) -> AsyncIterator[tuple[Candidate, list[BaseMessage]]]:
        messages, check = as_messages(value), _GuardCheck(self.policy, self.public, self.role)
        for candidate in self.candidates:
            payload: list[BaseMessage] | None = messages
            if candidate.is_remote:  # spaCy analysis is blocking: off the event loop
                payload = await asyncio.to_thread(check.messages_for_remote, messages, config)
            if payload is not None:
                yield candidate, payload

    def _invoke(self, value: Any, run_manager: CallbackManagerForChainRun, config: RunnableConfig) -> Any:
        failures = _Failures(self.role)
        for candidate, payload in self._payloads(value, config):
            try:
                return candidate.build().invoke(payload, config)
            except Exception as error:  # noqa: BLE001 - any model failure hands over to the next model
                failures.add(candidate, error)
        raise failures.first()

    async def _ainvoke(self, value: Any, run_manager: AsyncCallbackManagerForChainRun,
                       config: RunnableConfig) -> Any:
        failures = _Failures(self.role)
        async for candidate, payload in self._apayloads(value, config):
            try:
                return await candidate.build().ainvoke(payload, config)
            except Exception as error:  # noqa: BLE001
                failures.add(candidate, error)
        raise failures.first()

    def _stream(self, inputs: Iterator[Any], run_manager: CallbackManagerForChainRun,
                config: RunnableConfig) -> Iterator[Any]:
        failures = _Failures(self.role)
        for candidate, payload in self._payloads(next(inputs), config):
            chunks = candidate.build().stream(payload, config)
            try:
                first = next(chunks)
            except StopIteration:
                return
            except Exception as error:  # noqa: BLE001 - failed before saying anything: the next model answers
                failures.add(candidate, error)
                continue
            yield first
            yield from chunks  # a failure mid-answer cannot be taken back: it propagates
            return
        raise failures.first()

    async def _astream(self, inputs: AsyncIterator[Any], run_manager: AsyncCallbackManagerForChainRun,
                       config: RunnableConfig) -> AsyncIterator[Any]:
        failures = _Failures(self.role)
        value = await anext(inputs)
        async for candidate, payload in self._apayloads(value, config):
            chunks = candidate.build().astream(payload, config)
            try:
                first = await anext(chunks)
            except StopAsyncIteration:
                return
            except Exception as error:  # noqa: BLE001
                failures.add(candidate, error)
                continue
            yield first
            async for chunk in chunks:
                yield chunk
            return
        raise failures.first()


class _Failures:
    """The failures of one call, logged as they happen; the first (the best model's) is the one raised."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.errors: list[Exception] = []

    def add(self, candidate: Candidate, error: Exception) -> None:
        logger.warning("model %s failed (%s: %s); trying the next one", candidate.name, type(error).__name__, error)
        self.errors.append(error)

    def first(self) -> Exception:
        return self.errors[0] if self.errors else RuntimeError(f"no model may answer for role {self.role!r}")
