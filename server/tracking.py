"""Which models a run actually called, and where its data went (for usage, footprint and audit).

The catalog tags every model it builds with `relais_model` / `relais_role` metadata; this callback
handler reads them back at each call, so fallbacks are accounted to the model that really answered.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

from relais.events import GOVERNANCE_EVENT
from relais.models.catalog import REMOTE_PROVIDERS


@dataclass
class ModelCall:
    """One call to one model."""

    model: str  # provider:model
    role: str
    started: float
    latency_s: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    error: str | None = None

    @property
    def provider(self) -> str:
        """The provider part of `model`."""
        return self.model.partition(":")[0]

    @property
    def destination(self) -> str:
        """Where the data of this call went: `remote-eu` (Mistral) or `local`."""
        return "remote-eu" if self.provider in REMOTE_PROVIDERS else "local"


@dataclass(eq=False)  # callback managers keep handlers in sets: identity hashing
class ModelCallLog(BaseCallbackHandler):
    """Collects every chat-model call of a run (pass it in `config={"callbacks": [log]}`)."""

    calls: list[ModelCall] = field(default_factory=list)
    governance: list[dict[str, Any]] = field(default_factory=list)  # guard decisions, refused tools
    _open: dict[UUID, ModelCall] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: UUID, metadata: Any = None,
                            **kwargs: Any) -> None:
        """Open a call record for a model the catalog built."""
        metadata = metadata or {}
        if "relais_model" not in metadata:
            return
        call = ModelCall(model=metadata["relais_model"], role=metadata.get("relais_role", ""),
                         started=time.perf_counter())
        with self._lock:
            self._open[run_id] = call
            self.calls.append(call)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """Close the record with its latency and token counts."""
        with self._lock:
            call = self._open.pop(run_id, None)
        if call is None:
            return
        call.latency_s = time.perf_counter() - call.started
        for generation in (response.generations or [[]])[0]:
            usage = getattr(getattr(generation, "message", None), "usage_metadata", None) or {}
            call.input_tokens += usage.get("input_tokens", 0)
            call.output_tokens += usage.get("output_tokens", 0)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Close the record as failed (a fallback may answer instead)."""
        with self._lock:
            call = self._open.pop(run_id, None)
        if call is not None:
            call.latency_s = time.perf_counter() - call.started
            call.error = f"{type(error).__name__}: {error}"

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Keep governance events (`relais.events.emit_governance`) for the audit record."""
        if name == GOVERNANCE_EVENT and isinstance(data, dict):
            with self._lock:
                self.governance.append(dict(data))

    @property
    def succeeded(self) -> list[ModelCall]:
        """The calls that returned an answer."""
        return [call for call in self.calls if call.error is None]

    def summary(self) -> dict[str, Any]:
        """Totals for the audit trail and the API usage: tokens, models, destinations, failures."""
        ok = self.succeeded
        return {
            "input_tokens": sum(call.input_tokens for call in ok),
            "output_tokens": sum(call.output_tokens for call in ok),
            "models": sorted({call.model for call in ok}),
            "destinations": sorted({call.destination for call in self.calls}),
            "failed_calls": [f"{call.model}: {call.error}" for call in self.calls if call.error],
        }
