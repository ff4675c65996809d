"""The audit record of each request, the metrics, and the footprint in the usage figures.

A non-streamed request is recorded once, when answered. A streamed one is recorded twice under the
same request id: `started` before its first byte leaves (if that record cannot be written, nothing
is sent and the client gets 503), then its outcome when the stream ends, also when the client went
away midway. Metrics count the outcome only, so nothing is counted twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator

import anyio

from server.audit import STARTED, AuditEntry, AuditLog, AuditUnavailable
from server.auth import Identity
from server.chat import SSE_DONE, ChatRun
from server.metrics import observe

logger = logging.getLogger(__name__)

DISCONNECTED = "client disconnected before the end of the answer"


def add_footprint(run: ChatRun) -> None:
    """Energy and CO2 of every model call that answered, added to the run's usage figures."""
    from server.footprint import estimate

    energy = co2 = 0.0
    for call in run.calls.succeeded:
        provider, _, model = call.model.partition(":")
        footprint = estimate(provider, model, call.output_tokens, call.latency_s)
        energy += footprint.energy_kwh
        co2 += footprint.co2_kg
    if run.calls.succeeded:
        run.usage["energy_kwh"] = energy
        run.usage["co2_kg"] = co2


def audit_entry(run: ChatRun, identity: Identity, requested_model: str, outcome: str,
                message: str | None = None) -> AuditEntry:
    """The audit record of one request: who, which agent and model, where the data went, what it cost."""
    summary = run.calls.summary()
    destinations = summary["destinations"]
    models = summary["models"]
    return AuditEntry(
        request_id=run.request_id,
        user_id=identity.user_id,
        outcome=outcome,  # type: ignore[arg-type]
        groups=sorted(identity.groups),
        requested_model=requested_model,
        agent=run.route.get("label") or run.requested_agent,  # a run cut short never routed: the agent asked for
        route_method=run.route.get("method"),
        route_confidence=run.route.get("confidence"),
        model=", ".join(models) or None,
        provider=", ".join(sorted({model.partition(":")[0] for model in models})) or None,
        # Conservative: if any call left the company, the request's data did.
        destination=("remote-eu" if "remote-eu" in destinations else "local") if destinations else None,
        guard={"events": run.governance, "failed_calls": summary["failed_calls"]} or None,
        tokens_in=int(run.usage.get("input_tokens", 0)),
        tokens_out=int(run.usage.get("output_tokens", 0)),
        latency_ms=run.latency_ms,
        energy_kwh=run.usage.get("energy_kwh"),
        co2_kg=run.usage.get("co2_kg"),
        message=message or run.error,
        request_content=_conversation_text(run),
        answer_content=run.answer,
    )


def _conversation_text(run: ChatRun) -> str:
    return "\n".join(f"{message.type}: {message.content}" for message in run.messages)


def account_sync(audit: AuditLog, run: ChatRun, identity: Identity, requested_model: str,
                 outcome: str | None = None, message: str | None = None) -> None:
    """Record the request in the audit trail and the metrics (content kept only as a hash by default)."""
    if outcome is None:
        outcome = "error" if run.error else "ok"
    if outcome == "ok":
        add_footprint(run)
    entry = audit_entry(run, identity, requested_model, outcome, message)
    audit.record(entry)
    observe(entry)


async def account(audit: AuditLog, run: ChatRun, identity: Identity, requested_model: str,
                  outcome: str | None = None, message: str | None = None) -> None:
    """`account_sync` off the event loop (the database write blocks)."""
    await asyncio.to_thread(account_sync, audit, run, identity, requested_model, outcome, message)


def started_entry(run: ChatRun, identity: Identity, requested_model: str) -> AuditEntry:
    """The record written before a streamed answer's first byte: who asks what; its outcome follows."""
    return AuditEntry(
        request_id=run.request_id,
        user_id=identity.user_id,
        outcome=STARTED,
        groups=sorted(identity.groups),
        requested_model=requested_model,
        agent=run.requested_agent,
        message="streaming the answer; the record of its outcome follows under the same request id",
        request_content=_conversation_text(run),
    )


async def audited_stream(chunks: AsyncGenerator[bytes, None], audit: AuditLog, run: ChatRun, identity: Identity,
                         requested_model: str) -> AsyncIterator[bytes]:
    """Record that the answer starts, then return the stream that records its outcome when it ends.

    Raises:
        AuditUnavailable: the started record cannot be written; nothing was sent (the client gets 503).
    """
    await audit.arecord(started_entry(run, identity, requested_model))
    return _stream_then_account(chunks, audit, run, identity, requested_model)


async def _stream_then_account(chunks: AsyncGenerator[bytes, None], audit: AuditLog, run: ChatRun,
                               identity: Identity, requested_model: str) -> AsyncIterator[bytes]:
    accounted = False
    try:
        async for chunk in chunks:
            if chunk == SSE_DONE:  # audited before the client reads the end of the answer
                accounted = True
                await _account_outcome(audit, run, identity, requested_model)
            yield chunk
    finally:
        # Cancelled or closed when the client went away: stop the run, and still record how it ended.
        with anyio.CancelScope(shield=True):
            await chunks.aclose()
        if not accounted:
            run.error = run.error or DISCONNECTED
            await _account_outcome(audit, run, identity, requested_model)


async def _account_outcome(audit: AuditLog, run: ChatRun, identity: Identity, requested_model: str) -> None:
    """The outcome record of a streamed answer: the answer is out, so a failure is logged, never raised."""
    try:
        with anyio.CancelScope(shield=True):  # a disconnect while writing must not leave half an account
            await account(audit, run, identity, requested_model)
    except AuditUnavailable:
        logger.exception("request %s: its answer was streamed but its outcome could not be audited; the trail "
                         "holds only its 'started' record", run.request_id)


async def account_denial(audit: AuditLog, identity: Identity, requested_model: str, reason: str) -> None:
    """Record an access the policy refused (403): who asked for which agent, and why it was refused."""
    await account(audit, ChatRun(messages=[]), identity, requested_model, outcome="refused", message=reason)
