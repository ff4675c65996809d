"""Model calls from graph nodes, with the confidentiality guard in front of any remote model.

When the first model of a role's chain is remote (Mistral), every message of the call (system
prompt with its retrieved context, history, tool results) is inspected first, and the agent's
policy applies: send it to a local model instead, redact it, or refuse. The decision is shown to the
user as a status event and kept, without the values, for the audit trail. Local chains skip this.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from graphs.events import emit_governance, emit_status
from relais.guard import GuardPolicy, guard_messages
from relais.models.catalog import Role, Sensitivity, get_chat_model, resolve_chain


class GuardRefused(RuntimeError):
    """The guard refused to send this request to a remote model; the message says why, for the user."""


def guarded_call(role: Role, sensitivity: Sensitivity, policy: GuardPolicy, messages: Sequence[BaseMessage], *,
                 overrides: Mapping[str, str] | None = None) -> tuple[list[BaseMessage], Sensitivity]:
    """The messages to send and the sensitivity to resolve models with, once the guard has looked.

    Raises:
        GuardRefused: the policy is "refuse" and the messages hold personal or confidential data.
    """
    if not resolve_chain(role, sensitivity, overrides)[0].is_remote:
        return list(messages), sensitivity
    to_send, decision = guard_messages(messages, policy)
    emit_governance("guard", role=role, **decision.to_audit())
    if decision.action == "allow":
        return to_send, sensitivity
    emit_status(decision.message)
    if decision.action == "refuse":
        raise GuardRefused(decision.message)
    if decision.action == "local":
        return to_send, "confidential"  # resolves to local models only
    return to_send, sensitivity


def invoke_guarded(role: Role, sensitivity: Sensitivity, policy: GuardPolicy, messages: Sequence[BaseMessage], *,
                   overrides: Mapping[str, str] | None = None, tools: Sequence[Any] | None = None,
                   schema: type | None = None, tags: Sequence[str] = ()) -> Any:
    """Invoke the role's model on `messages`, guarded; returns what the model returns.

    Raises:
        GuardRefused: see `guarded_call`.
    """
    to_send, sensitivity = guarded_call(role, sensitivity, policy, messages, overrides=overrides)
    model = get_chat_model(role, sensitivity, tools=tools, schema=schema, overrides=overrides, tags=tags)
    return model.invoke(to_send)
