"""The supervisor: classify the request, dispatch it to one agent subgraph, finish.

A plain StateGraph (langgraph-supervisor is unmaintained). The decision order is:
an explicit slash command, then the agent the caller picked (the Open WebUI model), then the local
router (embeddings + signals), and the router model only when the local router is unsure and that
model is a model server or Mistral (the embedded model is slower and no better than the local guess).
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from agents import all_specs, build_agent_graph, get_spec
from graphs.router.classifier import (
    CONFIDENCE_THRESHOLD,
    RouteDecision,
    classify_with_model,
    get_router,
    parse_slash_command,
)
from relais.attachments import attached_request
from relais.context import Context, context_of
from relais.events import emit_status
from relais.labels import LABELS, Label
from relais.models.catalog import get_chat_model, resolve_chain
from relais.state import InputState, OutputState, RouteInfo, SupervisorState

logger = logging.getLogger(__name__)

REFUSE_NODE = "refuse_request"


def decide_route(text: str, requested: Label | None, overrides: dict[str, str]) -> tuple[RouteInfo, str | None, bool]:
    """Choose the agent for `text`: (route, text without its slash command or None, structured format?)."""
    slash = parse_slash_command(text)
    if slash is not None:
        return RouteInfo(label=slash.label, confidence=1.0, method="slash"), slash.rest, slash.structured
    if requested:
        return RouteInfo(label=requested, confidence=1.0, method="explicit"), None, False
    decision = get_router().decide(text)
    if decision.confidence < CONFIDENCE_THRESHOLD and _router_model_is_worth_asking(overrides):
        decision = _ask_router_model(text, decision, overrides)
    route = RouteInfo(label=decision.label, confidence=round(decision.confidence, 3), method=decision.method)
    return route, None, False


def _router_model_is_worth_asking(overrides: dict[str, str]) -> bool:
    """Whether the router model is better than the local guess it would replace: not when it is the embedded one.

    Measured on 38 hard requests of routing_blind3 (2 busy cores): the embedded 1.5B model chose the right
    agent for 21 (55 %, no better than the local router before it learnt from that set: 58 %), took 17 s
    at the median and 55 s at worst, and twice wrote a reason too long for its 64 tokens, failing the call.
    The user would wait, then get no better a guess. A model server or Mistral is still asked.
    """
    return resolve_chain("router", "internal", overrides)[0].provider != "embedded"


def _ask_router_model(text: str, local: RouteDecision, overrides: dict[str, str]) -> RouteDecision:
    """The router model's opinion; the local guess stands if the model fails (routing never fails a request)."""
    emit_status("Routage : avis du modèle de routage…")
    try:
        from graphs.router.classifier import RouterChoice

        # The request itself goes to the router model: the guard looks first (personal data stays local).
        model = get_chat_model("router", "internal", guard="local", schema=RouterChoice, overrides=overrides)
        return classify_with_model(text, model)
    except Exception:  # a routing model that is down must not block the request
        logger.exception("router model failed; keeping the local decision %s", local)
        return local


def classify_request(state: SupervisorState, runtime: Runtime[Context]) -> Command:
    """Pick the agent, tell the user which one, and hand over the (slash-stripped) conversation."""
    # Routed on the user's own words: attached documents (Open WebUI's RAG template) are data, not the request.
    text, context = attached_request(state["messages"]).request, context_of(runtime)
    route, rest, structured = decide_route(text, context.requested_agent, context.models)
    allowed = context.allowed_agents
    if allowed is not None and route["label"] not in allowed:
        if "general" not in allowed:
            return Command(goto=REFUSE_NODE, update={"route": route})
        emit_status(f"Agent « {get_spec(route['label']).title} » non autorisé pour vous : assistant général")
        route = RouteInfo(label="general", confidence=route["confidence"], method=route["method"] + "+access")
    emit_status(f"Agent : {get_spec(route['label']).title} ({route['method']}, confiance {route['confidence']:.2f})")
    update: dict[str, Any] = {"route": route, "structured": structured or bool(state.get("structured"))}
    if rest is not None:
        update["messages"] = [_strip_slash_command(state, text, rest)]
    return Command(goto=route["label"], update=update)


def _strip_slash_command(state: SupervisorState, request: str, rest: str) -> HumanMessage:
    """The last user message with its slash command replaced by what follows it; attached documents stay."""
    last = next(message for message in reversed(state["messages"]) if isinstance(message, HumanMessage))
    original = str(last.text)
    if request != original and request in original:  # the request sits after Open WebUI's RAG template
        return HumanMessage(content=original.replace(request, rest, 1), id=last.id)
    return HumanMessage(content=rest or last.content, id=last.id)


def refuse_request(state: SupervisorState) -> dict[str, Any]:
    """No agent the user may use fits the request: say so plainly."""
    title = get_spec(state["route"]["label"]).title
    text = f"Votre profil n'a pas accès à l'agent « {title} » ni à l'assistant général. Contactez la DSI."
    return {"messages": [AIMessage(content=text)]}


def finish(state: SupervisorState) -> dict[str, Any]:
    """Close the status line in Open WebUI; the answer, sources and usage are already in the state."""
    emit_status("Réponse prête", done=True)
    return {}


@cache
def agent_graph(label: Label):  # noqa: ANN201
    """The compiled subgraph of one agent, built once per process."""
    return build_agent_graph(get_spec(label))


def build_supervisor_graph(checkpointer: BaseCheckpointSaver | None = None):  # noqa: ANN201
    """Compile the supervisor with every agent subgraph as a node (and the threads' saver, if given)."""
    builder = StateGraph(SupervisorState, context_schema=Context, input_schema=InputState, output_schema=OutputState)
    builder.add_node("classify_request", classify_request, destinations=(*LABELS, REFUSE_NODE))
    for spec in all_specs():
        builder.add_node(spec.label, agent_graph(spec.label))
        builder.add_edge(spec.label, "finish")
    builder.add_node(REFUSE_NODE, refuse_request)
    builder.add_node("finish", finish)
    builder.add_edge(START, "classify_request")
    builder.add_edge(REFUSE_NODE, "finish")
    builder.add_edge("finish", END)
    return builder.compile(name="supervisor", checkpointer=checkpointer)
