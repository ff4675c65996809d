"""Graph state shared by the supervisor and the agent subgraphs.

`typing_extensions.TypedDict` (not `typing`'s): LangServe's `add_routes` fails on the latter with
Python 3.11. Every list field has a reducer, so parallel or repeated updates never overwrite.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, NotRequired

from langchain_core.messages import AnyMessage, BaseMessage, HumanMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from relais.labels import Label
from relais.sources import Source, source_key


def merge_sources(current: list[Source] | None, new: list[Source] | None) -> list[Source]:
    """Append new sources, keeping the first occurrence of each (by url or title)."""
    merged = list(current or [])
    seen = {source_key(source) for source in merged}
    for source in new or []:
        if source_key(source) not in seen:
            seen.add(source_key(source))
            merged.append(source)
    return merged


def add_usage(current: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    """Sum token counts and latency across model calls; keep the last model name seen."""
    total = dict(current or {})
    for key, value in (new or {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value
        else:
            total[key] = value
    return total


class RouteInfo(TypedDict):
    """Which agent the supervisor chose, how sure it was and how it decided."""

    label: Label
    confidence: float
    method: str  # explicit | slash | local | model


class InputState(TypedDict):
    """What a caller sends: the conversation (who may use which agent is the server's to say: `Context`)."""

    messages: Annotated[list[AnyMessage], add_messages]
    structured: NotRequired[bool]


class OutputState(TypedDict):
    """What a caller gets back: the answer appended to the conversation, the route and the sources."""

    messages: Annotated[list[AnyMessage], add_messages]
    route: NotRequired[RouteInfo]
    sources: Annotated[list[Source], merge_sources]
    usage: Annotated[dict[str, Any], add_usage]


class SupervisorState(InputState, OutputState):
    """The supervisor's full state."""


class AgentInput(TypedDict):
    """What an agent subgraph receives from the supervisor (or directly, in Studio/LangServe)."""

    messages: Annotated[list[AnyMessage], add_messages]
    structured: NotRequired[bool]


class AgentOutput(TypedDict):
    """What an agent subgraph hands back."""

    messages: Annotated[list[AnyMessage], add_messages]
    sources: Annotated[list[Source], merge_sources]
    usage: Annotated[dict[str, Any], add_usage]


class AgentState(AgentInput, AgentOutput):
    """An agent's private working state: the extracts it retrieved and its tool-loop count."""

    extracts: NotRequired[str]
    tool_rounds: NotRequired[int]


def last_user_text(messages: Sequence[BaseMessage]) -> str:
    """The text of the latest user message (what retrieval and routing look at)."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return str(message.text)  # TextAccessor is a str subclass some libraries (spaCy) refuse
    return ""
