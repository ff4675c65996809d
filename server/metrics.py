"""Prometheus metrics, fed from the same entries as the audit trail, in their own registry.

Labels are bounded sets (agent, outcome, destination, provider, direction): never a user id,
whose number is unbounded; per-user figures come from `relais usage`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import make_asgi_app as _prometheus_asgi_app
from starlette.responses import Response

from server.audit import AuditEntry

LATENCY_BUCKETS_S = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120, 300)
NO_AGENT = "none"  # refused before routing


class RelaisMetrics:
    """Counters and histograms for requests, tokens, latency, energy and CO2."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter("relais_requests", "Chat requests answered or refused.",
                                ["agent", "outcome", "destination"], registry=self.registry)
        self.tokens = Counter("relais_tokens", "Model tokens, in (prompt) and out (completion).",
                              ["agent", "provider", "direction"], registry=self.registry)
        self.latency = Histogram("relais_request_latency_seconds", "Time to answer a request.", ["agent"],
                                 buckets=LATENCY_BUCKETS_S, registry=self.registry)
        self.energy = Counter("relais_energy_kwh", "Estimated energy used by model calls, in kWh.",
                              ["agent", "provider"], registry=self.registry)
        self.co2 = Counter("relais_co2_kg", "Estimated emissions of model calls, in kg CO2-eq.",
                           ["agent", "provider"], registry=self.registry)

    def observe(self, entry: AuditEntry) -> None:
        """Count one request from its audit entry."""
        agent = entry.agent or NO_AGENT
        provider = entry.provider or "none"
        self.requests.labels(agent, entry.outcome, entry.destination or "none").inc()
        if entry.tokens_in:
            self.tokens.labels(agent, provider, "in").inc(entry.tokens_in)
        if entry.tokens_out:
            self.tokens.labels(agent, provider, "out").inc(entry.tokens_out)
        if entry.latency_ms is not None:
            self.latency.labels(agent).observe(entry.latency_ms / 1000.0)
        if entry.energy_kwh:
            self.energy.labels(agent, provider).inc(entry.energy_kwh)
        if entry.co2_kg:
            self.co2.labels(agent, provider).inc(entry.co2_kg)

    def exposition(self) -> bytes:
        """The text exposition format of every metric."""
        return generate_latest(self.registry)


@lru_cache(maxsize=1)
def get_metrics() -> RelaisMetrics:
    """The process-wide metrics (created on first use)."""
    return RelaisMetrics()


def observe(entry: AuditEntry) -> None:
    """Count one request in the process-wide metrics."""
    get_metrics().observe(entry)


def metrics_app(metrics: RelaisMetrics | None = None) -> Callable[..., Any]:
    """The ASGI app serving the metrics, to mount at /metrics with FastAPI's `app.mount`."""
    return _prometheus_asgi_app(registry=(metrics or get_metrics()).registry)


def metrics_response(metrics: RelaisMetrics | None = None) -> Response:
    """The body of a plain route instead: `@app.get("/metrics")` returning this."""
    return Response((metrics or get_metrics()).exposition(), media_type=CONTENT_TYPE_LATEST)
