"""Progress a node reports while it runs; the server turns these into Open WebUI events."""

from __future__ import annotations

from collections.abc import Sequence

from langgraph.config import get_stream_writer

from relais.sources import Source


def _write(event: dict) -> None:
    try:
        writer = get_stream_writer()
    except RuntimeError:  # called outside a graph run (a tool used on its own): nobody listens
        return
    writer(event)


def emit_status(description: str, *, done: bool = False) -> None:
    """Tell the user what the graph is doing now ("Recherche dans les BPF...")."""
    _write({"type": "status", "description": description, "done": done})


def emit_sources(sources: Sequence[Source]) -> None:
    """Send the sources an answer relies on as soon as they are known."""
    if sources:
        _write({"type": "sources", "sources": list(sources)})


def emit_governance(kind: str, **details: object) -> None:
    """Record a governance event (guard decision, refused tool) for the audit trail."""
    _write({"type": kind, **details})
