"""The generic agent subgraph: gather extracts → answer → (call tools → answer)* .

Most business agents are this graph with their own prompt, retriever, tools and model role
(an `AgentSpec`). An agent whose job does not fit it supplies `AgentSpec.build_graph`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from importlib import import_module
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

import prompts
from agents.base import AgentSpec, SourcesUnavailable
from relais.context import Context, context_of
from relais.events import emit_governance, emit_sources, emit_status
from relais.guard import fence_untrusted
from relais.models.catalog import get_chat_model
from relais.models.guarded import GuardRefused
from relais.sources import Source
from relais.state import AgentInput, AgentOutput, AgentState

logger = logging.getLogger(__name__)

ANSWER_TAG = "relais:answer"  # the server streams only the tokens of models carrying this tag


def last_user_text(messages: list[AnyMessage]) -> str:
    """The text of the latest user message (what retrieval and routing look at)."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return str(message.text)  # TextAccessor is a str subclass some libraries (spaCy) refuse
    return ""


def format_extracts(sources: list[Source]) -> str:
    """Number the extracts so the model can cite them, each fenced as data, never instructions.

    A page or document that tries to close the fence or give orders stays inside it (escaped).
    """
    return "\n".join(fence_untrusted(source["text"], f'[{number}] {source.get("url") or source["title"]}')
                     for number, source in enumerate(sources, start=1))


def system_prompt(spec: AgentSpec, extracts: str, structured: bool) -> str:
    """The agent's prompt, with the retrieved extracts fenced in their own section."""
    name = f"{spec.prompt_name}_structured" if structured and _has_prompt(f"{spec.prompt_name}_structured") else None
    text = prompts.load(name or spec.prompt_name)
    if extracts:
        text += "\n\n" + prompts.render("extracts", extracts=extracts)
    return text


def _has_prompt(name: str) -> bool:
    try:
        prompts.load(name)
    except FileNotFoundError:
        return False
    return True


def usage_of(message: BaseMessage, latency_s: float) -> dict[str, Any]:
    """Token counts, model name and latency of one model answer, for the run's usage total."""
    usage = getattr(message, "usage_metadata", None) or {}
    metadata = getattr(message, "response_metadata", None) or {}
    return {
        "input_tokens": usage.get("input_tokens", 0),
        "output_tokens": usage.get("output_tokens", 0),
        "model_calls": 1,
        "latency_ms": round(latency_s * 1000, 1),
        "model": metadata.get("model_name") or metadata.get("model") or "",
    }


def build_agent_graph(spec: AgentSpec):  # noqa: ANN201 - CompiledStateGraph generics are noisy
    """Compile the generic graph for `spec` (or the agent's own graph when it has one)."""
    if spec.graph is not None:
        module_name, _, function_name = spec.graph.partition(":")
        return getattr(import_module(module_name), function_name)(spec)

    def gather_extracts(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
        if spec.retrieve is None:
            return {}
        emit_status(f"{spec.title} : recherche des sources…")
        try:
            sources = spec.retrieve(last_user_text(state["messages"]), context_of(runtime).top_k)
        except SourcesUnavailable as error:  # say so plainly rather than let the model guess
            emit_status(f"{spec.title} : sources indisponibles", done=True)
            return {"messages": [AIMessage(content=error.answer)]}
        emit_sources(sources)
        return {"extracts": format_extracts(sources), "sources": sources}

    def draft_answer(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
        context = context_of(runtime)
        prompt = system_prompt(spec, state.get("extracts", ""), bool(state.get("structured")))
        tools = list(spec.tools) if state.get("tool_rounds", 0) < context.max_tool_rounds else None
        emit_status(f"{spec.title} : rédaction de la réponse…")
        public = [state["extracts"]] if spec.public_sources and state.get("extracts") else []
        return answer_update(spec, prompt, state["messages"], context, tools=tools, public=public)

    def run_tools(state: AgentState) -> dict[str, Any]:
        call_message = state["messages"][-1]
        results, sources = [], []
        for call in call_message.tool_calls:
            message, found = call_tool(spec, call)
            results.append(message)
            sources.extend(found)
        emit_sources(sources)
        return {"messages": results, "sources": sources, "tool_rounds": state.get("tool_rounds", 0) + 1}

    def route_after_extracts(state: AgentState) -> Literal["draft_answer", "__end__"]:
        answered = bool(state["messages"]) and isinstance(state["messages"][-1], AIMessage)
        return END if answered else "draft_answer"

    def route_after_draft(state: AgentState) -> Literal["run_tools", "__end__"]:
        last = state["messages"][-1] if state["messages"] else None
        return "run_tools" if isinstance(last, AIMessage) and last.tool_calls else END

    builder = StateGraph(AgentState, context_schema=Context, input_schema=AgentInput, output_schema=AgentOutput)
    builder.add_node("gather_extracts", gather_extracts)
    builder.add_node("draft_answer", draft_answer)
    builder.add_node("run_tools", run_tools)
    builder.add_edge(START, "gather_extracts")
    builder.add_conditional_edges("gather_extracts", route_after_extracts)
    builder.add_conditional_edges("draft_answer", route_after_draft)
    builder.add_edge("run_tools", "draft_answer")
    return builder.compile(name=spec.label)


def answer_update(spec: AgentSpec, system: str, messages: list[AnyMessage], context: Context, *,
                  tools: list[Any] | None = None, public: Sequence[str] = ()) -> dict[str, Any]:
    """Ask the agent's model for the user-facing answer (guarded, streamed) and return the state update.

    A guard refusal becomes the answer. Without `tools`, a tool call the model still makes is not run:
    its text is the answer. `public` texts in the prompt (fetched public pages) are not inspected.
    """
    started = time.perf_counter()
    model = get_chat_model(spec.role, spec.sensitivity, guard=spec.guard, public=public, overrides=context.models,
                           tools=tools, tags=[ANSWER_TAG])
    try:
        response = model.invoke([SystemMessage(system), *messages])
    except GuardRefused as refusal:
        return {"messages": [AIMessage(content=str(refusal))]}
    if tools is None and getattr(response, "tool_calls", None):
        response = AIMessage(content=response.content, id=response.id, usage_metadata=response.usage_metadata)
    return {"messages": [response], "usage": usage_of(response, time.perf_counter() - started)}


def call_tool(spec: AgentSpec, call: dict[str, Any]) -> tuple[ToolMessage, list[Source]]:
    """Run one tool call from the allowlist; any failure becomes a clear message to the model.

    A tool outside the agent's allowlist is refused (and logged for the audit trail), never run.
    """
    tools = {tool.name: tool for tool in spec.tools}
    name = call["name"]
    if name not in tools:
        logger.warning("agent %s asked for tool %r outside its allowlist: refused", spec.label, name)
        emit_status(f"Outil « {name} » refusé : hors de la liste autorisée de cet agent", done=True)
        emit_governance("tool_refused", agent=spec.label, tool=name)
        return _tool_error(call, f"L'outil « {name} » n'est pas autorisé pour cet agent."), []
    emit_status(f"{spec.title} : outil « {name} »…")
    try:
        result = tools[name].invoke(call)
    except Exception as error:  # one wrapper for every tool: the model reads the failure and adapts
        logger.exception("tool %s failed", name)
        return _tool_error(call, f"L'outil « {name} » a échoué : {error}"), []
    artifact = getattr(result, "artifact", None)
    sources = [item for item in artifact if isinstance(item, dict) and "title" in item] if artifact else []
    return result, sources


def _tool_error(call: dict[str, Any], text: str) -> ToolMessage:
    return ToolMessage(content=text, tool_call_id=call["id"], name=call["name"], status="error")
