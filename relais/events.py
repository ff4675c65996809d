"""Progress a node reports while it runs; the server turns these into Open WebUI events."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.callbacks import dispatch_custom_event
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer

from relais.sources import Source

GOVERNANCE_EVENT = "relais_governance"  # the custom event name the call log listens for


def _write(event: dict) -> None:
    try:
        writer = get_stream_writer()
    except (RuntimeError, KeyError):  # outside a graph run (a tool used on its own, a task call): nobody listens
        return
    writer(event)


def emit_status(description: str, *, done: bool = False) -> None:
    """Tell the user what the graph is doing now ("Recherche dans les BPF...")."""
    _write({"type": "status", "description": description, "done": done})


def emit_sources(sources: Sequence[Source]) -> None:
    """Send the sources an answer relies on as soon as they are known."""
    if sources:
        _write({"type": "sources", "sources": list(sources)})


def emit_governance(kind: str, *, config: RunnableConfig | None = None, **details: object) -> None:
    """Record a governance event (guard decision, refused tool) for the audit trail.

    It travels as a LangChain custom event, so the run's callback handlers (the server's call log)
    receive it on every route: the OpenAI API, LangServe and Studio alike.
    """
    try:
        dispatch_custom_event(GOVERNANCE_EVENT, {"type": kind, **details}, config=config)
    except RuntimeError:  # outside a run (a tool used on its own): nothing to audit
        return
