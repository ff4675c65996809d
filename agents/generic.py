"""The generic agent graph: gather extracts → answer → (call tools → answer)* .

The general assistant and web research are this graph with their own prompt, retriever, tools and
model role (an `AgentSpec`). Each node is a module-level function taking the spec first; the
builder binds the spec with `functools.partial`, so a node can be called and tested on its own.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

from langchain_core.messages import AIMessage
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime

from agents.answer import answer_update, call_tool, format_extracts, system_prompt
from agents.base import AgentSpec, SourcesUnavailable
from relais.attachments import attached_request
from relais.context import Context, context_of
from relais.events import emit_sources, emit_status
from relais.state import AgentInput, AgentOutput, AgentState


def gather_extracts(spec: AgentSpec, state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Retrieve the extracts the answer must rely on; sources that cannot be had become the answer.

    The search reads the user's own words: an attached document, and the RAG template Open WebUI wraps
    it in, are not a query (the document reaches the model fenced, through `answer_update`).
    """
    if spec.retrieve is None:
        return {}
    emit_status(f"{spec.title} : recherche des sources…")
    try:
        sources = spec.retrieve(attached_request(state["messages"]).request, context_of(runtime).top_k)
    except SourcesUnavailable as error:  # say so plainly rather than let the model guess
        emit_status(f"{spec.title} : sources indisponibles", done=True)
        return {"messages": [AIMessage(content=error.answer)]}
    emit_sources(sources)
    return {"extracts": format_extracts(sources), "sources": sources}


def draft_answer(spec: AgentSpec, state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Ask the agent's model for the answer, with its tools until the run's tool rounds are spent."""
    context = context_of(runtime)
    prompt = system_prompt(spec, state.get("extracts", ""), bool(state.get("structured")))
    tools = list(spec.tools) if state.get("tool_rounds", 0) < context.max_tool_rounds else None
    emit_status(f"{spec.title} : rédaction de la réponse…")
    public = [state["extracts"]] if spec.public_sources and state.get("extracts") else []
    return answer_update(spec, prompt, state["messages"], context, tools=tools, public=public)


def run_tools(spec: AgentSpec, state: AgentState) -> dict[str, Any]:
    """Run the tool calls of the model's last message (allowlist enforced), collecting their sources."""
    call_message = state["messages"][-1]
    results, sources = [], []
    for call in getattr(call_message, "tool_calls", []):
        message, found = call_tool(spec, dict(call))
        results.append(message)
        sources.extend(found)
    emit_sources(sources)
    return {"messages": results, "sources": sources, "tool_rounds": state.get("tool_rounds", 0) + 1}


def route_after_extracts(state: AgentState) -> Literal["draft_answer", "__end__"]:
    """An answer already given (sources unavailable) ends the run; otherwise draft."""
    answered = bool(state["messages"]) and isinstance(state["messages"][-1], AIMessage)
    return "__end__" if answered else "draft_answer"


def route_after_draft(state: AgentState) -> Literal["run_tools", "__end__"]:
    """Tool calls in the model's answer are run; a plain answer ends the run."""
    last = state["messages"][-1] if state["messages"] else None
    return "run_tools" if isinstance(last, AIMessage) and last.tool_calls else "__end__"


def build_generic_graph(spec: AgentSpec):  # noqa: ANN201 - CompiledStateGraph generics are noisy
    """Compile the generic graph for `spec`."""
    builder = StateGraph(AgentState, context_schema=Context, input_schema=AgentInput, output_schema=AgentOutput)
    builder.add_node("gather_extracts", partial(gather_extracts, spec))
    builder.add_node("draft_answer", partial(draft_answer, spec))
    builder.add_node("run_tools", partial(run_tools, spec))
    builder.add_edge(START, "gather_extracts")
    builder.add_conditional_edges("gather_extracts", route_after_extracts)
    builder.add_conditional_edges("draft_answer", route_after_draft)
    builder.add_edge("run_tools", "draft_answer")
    return builder.compile(name=spec.label)
