"""The code assistant: check the request → read pasted Python statically → answer (streamed).

User code is never run on the server: it is only parsed (`ast.parse`) to tell the model whether
it is valid and which risky calls it makes.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NotRequired

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

import prompts
from agents.answer import answer_update
from agents.base import AgentSpec
from agents.code.checks import python_blocks, review_python
from relais.context import Context, context_of
from relais.deliverables import answer_message, request_problem
from relais.events import emit_status
from relais.state import AgentInput, AgentOutput, AgentState, last_user_text


class CodeState(AgentState):
    """The working state: what the static reading of the user's code found."""

    code_review: NotRequired[str]


def check_request(spec: AgentSpec, state: CodeState) -> Command:
    """Refuse an empty or oversized request before any model sees it."""
    problem = request_problem(last_user_text(state["messages"]), spec.title)
    if problem is not None:
        emit_status(f"{spec.title} : demande non traitée", done=True)
        return Command(goto=END, update={"messages": [answer_message(problem)]})
    return Command(goto="inspect_code")


def inspect_code(spec: AgentSpec, state: CodeState) -> dict[str, Any]:
    """Read the pasted Python statically (parsed, never run) for the model to rely on."""
    blocks = python_blocks(last_user_text(state["messages"]))
    if not blocks:
        return {}
    emit_status(f"{spec.title} : lecture statique du code fourni (jamais exécuté)…")
    reports = [f"Bloc {number} : {review_python(code)}" for number, code in enumerate(blocks, start=1)]
    return {"code_review": "\n".join(reports)}


def draft_answer(spec: AgentSpec, state: CodeState, runtime: Runtime[Context]) -> dict[str, Any]:
    """The streamed answer, with what the static reading found."""
    emit_status(f"{spec.title} : rédaction de la réponse…")
    system = prompts.load(spec.prompt_name)
    if state.get("code_review"):
        system += f"\n\n<analyse_statique>\n{state['code_review']}\n</analyse_statique>"
    update = answer_update(spec, system, state["messages"], context_of(runtime))
    emit_status(f"{spec.title} : réponse prête", done=True)
    return update


def build_code_graph(spec: AgentSpec):  # noqa: ANN201 - CompiledStateGraph generics are noisy
    """Compile the code assistant for `spec`."""
    builder = StateGraph(CodeState, context_schema=Context, input_schema=AgentInput, output_schema=AgentOutput)
    builder.add_node("check_request", partial(check_request, spec), destinations=("inspect_code", END))
    builder.add_node("inspect_code", partial(inspect_code, spec))
    builder.add_node("draft_answer", partial(draft_answer, spec))
    builder.add_edge(START, "check_request")
    builder.add_edge("inspect_code", "draft_answer")
    builder.add_edge("draft_answer", END)
    return builder.compile(name=spec.label)
