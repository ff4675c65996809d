"""Run-scoped choices, passed as `context=` and shown in LangGraph Studio."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(kw_only=True)
class Context:
    """What may change from one run to the next without redeploying."""

    models: dict[str, str] = field(
        default_factory=dict,
        metadata={"description": "Per-role model overrides, e.g. {'drafting': 'mistral:mistral-large-latest'}."},
    )
    top_k: int = field(default=6, metadata={"description": "How many extracts retrieval hands to the model."})
    max_tool_rounds: int = field(
        default=4, metadata={"description": "How many tool-call rounds an agent may make before it must answer."}
    )
    user_id: str = field(default="anonymous", metadata={"description": "Who asks (for the audit trail)."})


def context_of(runtime: Any) -> Context:
    """The run's context, or the defaults when the caller passed none (LangServe, plain invoke)."""
    context = getattr(runtime, "context", None)
    return context if isinstance(context, Context) else Context()
