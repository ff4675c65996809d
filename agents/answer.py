"""The answer step the agents share: the prompt with its fenced extracts, the model call, tool calls.

The generic graph, the code assistant and the computer-validation agent answer through here, so the
guard, the answer tag, the tool allowlist, the usage figures and the fencing of attached documents are
applied the same way everywhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, cast

from langchain_core.messages import AIMessage, AnyMessage, SystemMessage, ToolMessage

import prompts
from agents.base import AgentSpec
from relais.attachments import fenced_conversation
from relais.context import Context
from relais.events import emit_governance, emit_status
from relais.guard import fence_untrusted
from relais.models.catalog import get_chat_model
from relais.models.guarded import GuardRefused
from relais.publish import ANSWER_TAG, usage_of
from relais.sources import Source

logger = logging.getLogger(__name__)


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


def answer_update(spec: AgentSpec, system: str, messages: list[AnyMessage], context: Context, *,
                  tools: list[Any] | None = None, public: Sequence[str] = ()) -> dict[str, Any]:
    """Ask the agent's model for the user-facing answer (guarded, streamed) and return the state update.

    A guard refusal becomes the answer. Without `tools`, a tool call the model still makes is not run:
    its text is the answer. `public` texts in the prompt (fetched public pages) are not inspected.
    Documents attached in Open WebUI reach the model fenced as data after the user's words, without
    Open WebUI's RAG template (its English instructions): `relais.attachments.fenced_conversation`.
    """
    started = time.perf_counter()
    model = get_chat_model(spec.role, spec.sensitivity, guard=spec.guard, public=public, overrides=context.models,
                           tools=tools, tags=[ANSWER_TAG])
    try:
        response = model.invoke([SystemMessage(system), *fenced_conversation(messages)])
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
    sources = [cast(Source, item) for item in artifact or [] if isinstance(item, dict) and "title" in item]
    return result, sources


def _tool_error(call: dict[str, Any], text: str) -> ToolMessage:
    return ToolMessage(content=text, tool_call_id=call["id"], name=call["name"], status="error")
