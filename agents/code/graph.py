"""The code assistant: check the request → read pasted Python statically → answer (streamed) → check its code.

No code is ever run on the server. The user's pasted Python is only parsed (`ast.parse`) to tell the
model whether it is valid and which risky calls it makes. Every Python block of the answer then goes
through the syntax check and ruff (read from its standard input, never executed), one status event per
check, and what failed (line, rule, message) is appended under the answer: a step the graph always
takes, whatever the model, rather than a tool the model may forget to call.
"""

from __future__ import annotations

import ast
from functools import partial
from typing import Any, NotRequired

from langchain_core.messages import AIMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

import prompts
from agents.answer import answer_update
from agents.base import AgentSpec
from agents.code.checks import (
    RuffUnavailable,
    lint_python,
    proposed_python_blocks,
    python_blocks,
    review_python,
    risky_calls,
    syntax_error,
)
from relais.context import Context, context_of
from relais.deliverables import answer_message, request_problem
from relais.events import emit_status
from relais.publish import publish_answer
from relais.state import AgentInput, AgentOutput, AgentState, last_user_text

CHECK_HEADER = "**Vérification automatique du code proposé** (syntaxe et ruff ; analysé par Relais, jamais exécuté) :"
MAX_FINDINGS = 10  # per block: past that, the count says how many more


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
    return answer_update(spec, system, state["messages"], context_of(runtime))


def check_proposed_code(spec: AgentSpec, state: CodeState) -> dict[str, Any]:
    """Check each Python block of the answer (syntax, then ruff) and append what failed under it."""
    answer = state["messages"][-1]
    blocks = proposed_python_blocks(answer.text) if isinstance(answer, AIMessage) else []
    if not blocks:
        emit_status(f"{spec.title} : réponse prête (aucun bloc Python à vérifier)", done=True)
        return {}
    lines = [f"- Bloc {number} : {checked_block(spec, number, code)}" for number, code in enumerate(blocks, start=1)]
    note = f"\n\n---\n{CHECK_HEADER}\n\n" + "\n".join(lines)
    publish_answer(note)  # streamed after the answer, so what was shown is the final message
    emit_status(f"{spec.title} : réponse prête, {len(blocks)} bloc(s) Python vérifié(s)", done=True)
    return {"messages": [answer.model_copy(update={"content": answer.text + note})]}


def checked_block(spec: AgentSpec, number: int, code: str) -> str:
    """One block's verdict: its syntax error, else ruff's findings and the calls worth a look."""
    emit_status(f"{spec.title} : bloc {number}, vérification de la syntaxe (analysé, jamais exécuté)…")
    error = syntax_error(code)
    if error is not None:
        return f"❌ erreur de syntaxe {error} (ruff n'est lancé qu'une fois la syntaxe corrigée)."
    emit_status(f"{spec.title} : bloc {number}, ruff…")
    try:
        findings = lint_python(code)
    except RuffUnavailable as problem:
        verdict = f"syntaxe valide ; non vérifié par ruff : {problem}."
    else:
        shown = "; ".join(f"ligne {f.line} {f.rule} {f.message}" for f in findings[:MAX_FINDINGS])
        more = f" (et {len(findings) - MAX_FINDINGS} autre(s))" if len(findings) > MAX_FINDINGS else ""
        verdict = (f"⚠️ syntaxe valide ; ruff : {shown}{more}." if findings
                   else "✅ syntaxe valide, ruff sans remarque.")
    if risky := risky_calls(ast.parse(code)):
        verdict += " Appels à examiner : " + "; ".join(risky[:MAX_FINDINGS]) + "."
    return verdict


def build_code_graph(spec: AgentSpec):  # noqa: ANN201 - CompiledStateGraph generics are noisy
    """Compile the code assistant for `spec`."""
    builder = StateGraph(CodeState, context_schema=Context, input_schema=AgentInput, output_schema=AgentOutput)
    builder.add_node("check_request", partial(check_request, spec), destinations=("inspect_code", END))
    builder.add_node("inspect_code", partial(inspect_code, spec))
    builder.add_node("draft_answer", partial(draft_answer, spec))
    builder.add_node("check_proposed_code", partial(check_proposed_code, spec))
    builder.add_edge(START, "check_request")
    builder.add_edge("inspect_code", "draft_answer")
    builder.add_edge("draft_answer", "check_proposed_code")
    builder.add_edge("check_proposed_code", END)
    return builder.compile(name=spec.label)
