"""After each request: one audit record, the metrics, and the footprint in the usage figures."""

from __future__ import annotations

import asyncio
import logging

from relais.audit import AuditEntry, AuditLog
from server.auth import Identity
from server.chat import ChatRun
from server.metrics import observe

logger = logging.getLogger(__name__)


def add_footprint(run: ChatRun) -> None:
    """Energy and CO2 of every model call that answered, added to the run's usage figures."""
    from relais.footprint import estimate

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
        agent=run.route.get("label"),
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
