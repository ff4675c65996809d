"""Business agents: one module per case, each declaring an `AgentSpec` named SPEC."""

from __future__ import annotations

from importlib import import_module

from agents.base import AgentSpec
from relais.labels import LABELS, Label


def get_spec(label: Label) -> AgentSpec:
    """The spec of one agent (modules are imported on demand: nothing heavy at import)."""
    if label not in LABELS:
        raise KeyError(f"unknown agent {label!r}")
    return import_module(f"agents.{label}").SPEC


def all_specs() -> list[AgentSpec]:
    """Every agent, in the order of `relais.labels.LABELS`."""
    return [get_spec(label) for label in LABELS]
