"""Business agents: one package per case, `agents/<label>/`, whose `SPEC` is an `AgentSpec`."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from agents.base import AgentSpec
from relais.labels import LABELS, Label


def get_spec(label: Label) -> AgentSpec:
    """The spec of one agent (its package is imported on demand: asking for one loads only that one)."""
    if label not in LABELS:
        raise KeyError(f"unknown agent {label!r}")
    return import_module(f"agents.{label}").SPEC


def all_specs() -> list[AgentSpec]:
    """Every agent, in the order of `relais.labels.LABELS`."""
    return [get_spec(label) for label in LABELS]


def build_agent_graph(spec: AgentSpec) -> Any:
    """Compile the graph `spec` names (a CompiledStateGraph)."""
    return spec.graph(spec)
