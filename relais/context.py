"""Run-scoped choices, passed as `context=` and shown in LangGraph Studio."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langgraph.config import get_config

from relais.labels import Label

SERVED_CONTEXT_KEY = "relais_context"  # where LangServe runs find the server-made context


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
    # Set by the server from the caller's identity and the access policy, never from a request body.
    requested_agent: Label | None = field(
        default=None, metadata={"description": "The agent the caller picked (its Open WebUI model); None = route."}
    )
    allowed_agents: tuple[Label, ...] | None = field(
        default=None, metadata={"description": "The agents the caller's groups may use; None = no restriction."}
    )


def context_of(runtime: Any) -> Context:
    """The run's context: the one passed as `context=`, else the server's for a LangServe run, else defaults.

    LangServe can only pass a config, so its routes put the server-made context under
    `configurable[SERVED_CONTEXT_KEY]`; only a `Context` object counts there, and a client's JSON
    can never be one.
    """
    context = getattr(runtime, "context", None)
    if isinstance(context, Context):
        return context
    try:
        served = get_config().get("configurable", {}).get(SERVED_CONTEXT_KEY)
    except RuntimeError:  # outside a run
        served = None
    return served if isinstance(served, Context) else Context()
