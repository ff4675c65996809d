"""The LangServe routes go through the same doors as the OpenAI API.

`/agents/supervisor/` and `/agents/<label>/` (invoke, batch, stream, playground...) check, in order:
who asks (the `authenticate` dependency), whether their groups may use that agent, the rate and
size limits, and that the audit trail can be written. Who may use which agent then travels to the
graph in the run's context, set here from the identity and the policy: a request body that tries
to set `allowed_agents` or `requested_agent` is refused with 422, and whatever the client sends in
`config.configurable` is dropped. Each request is audited like a streamed chat completion: a
`started` record before anything runs (503 when it cannot be written), its outcome when it ends.

Threads: a request to `/agents/supervisor/` that names a chat (`config.configurable.thread_id`, or
the `X-OpenWebUI-Chat-Id` / `X-Relais-Chat-Id` header) runs on that chat's thread of the
authenticated user, the id being made by the server as for Open WebUI (relais/threads.py): the
input messages are added to the thread, as LangGraph's own API does. Without one it is stateless.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from fastapi import Depends, Request
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig, ensure_config
from langchain_core.runnables.configurable import DynamicRunnable

from relais.context import SERVED_CONTEXT_KEY, Context
from relais.labels import AUTO_MODEL_ID, LABELS, Label, model_id
from relais.threads import is_stateless_chat
from server.access import ensure_allowed
from server.accounting import account_denial, account_sync, started_entry
from server.audit import AuditLog
from server.auth import Identity, authenticate
from server.chat import ChatRun, keep_final_state, require_question
from server.errors import ApiError
from server.langserve_checks import RUNNABLE_ENDPOINTS, conversation_messages, request_inputs
from server.limits import check_message_sizes, enforce_rate_limit, limit_body_size
from server.threads import ChatThread, chat_thread

logger = logging.getLogger(__name__)

PERMISSION_FIELDS = ("allowed_agents", "requested_agent")  # the server's to set, never a caller's
SUPERVISOR_PATH = "/agents/supervisor"


def served_label(path: str) -> Label | None:
    """The agent a LangServe path serves (None for the supervisor)."""
    parts = path.split("/")
    label = parts[2] if len(parts) > 2 and parts[1] == "agents" else ""
    return label if label in LABELS else None


async def govern(request: Request, identity: Identity = Depends(authenticate)) -> None:  # noqa: B008
    """FastAPI dependency of every LangServe route: access, limits, permission fields, audit readiness.

    Raises:
        ApiError: 403 for an agent the user's groups may not use, 429/413 over a limit, 422 for a body
            that sets permissions, 503 when the audit trail cannot be written.
    """
    label = served_label(request.url.path)
    policy = request.app.state.access_policy
    try:
        ensure_allowed(policy, identity, label)
    except ApiError as error:
        if request.method == "POST":  # a denied run is part of the trail; a page view is not
            await account_denial(request.app.state.audit, identity, _requested_model(label), error.message)
        raise
    if request.method != "POST" or not request.url.path.endswith(RUNNABLE_ENDPOINTS):
        return  # schemas, playground pages: nothing runs
    enforce_rate_limit(request, identity)
    await limit_body_size(request)
    body = await request.json()
    messages = _checked_messages(body)
    allowed = tuple(sorted(policy.allowed_labels(identity)))
    context = Context(user_id=identity.user_id, requested_agent=label, allowed_agents=allowed)
    thread = served_thread(request, body, identity.user_id, label)
    run = ChatRun(messages=messages, context=context, thread=thread)
    # Recorded before anything runs (503 when it cannot be), its outcome when the run ends or is cut off.
    await request.app.state.audit.arecord(started_entry(run, identity, _requested_model(label)))
    request.state.relais_run, request.state.relais_identity = run, identity


def served_thread(request: Request, body: Any, user_id: str, label: Label | None) -> ChatThread | None:
    """The caller's thread for this request, if it names a chat; the id is always the server's.

    Raises:
        ApiError: 422 for a thread on an agent's own route (threads hold supervisor runs), or when
            the server keeps no threads.
    """
    config = body.get("config") if isinstance(body, Mapping) else None
    configurable = config.get("configurable") if isinstance(config, Mapping) else None
    chat_id = configurable.get("thread_id") if isinstance(configurable, Mapping) else None
    if isinstance(chat_id, str) and chat_id.strip():  # the body's id wins over a header
        thread = None if is_stateless_chat(chat_id) else ChatThread(user_id=user_id, chat_id=chat_id.strip())
    else:
        thread = chat_thread(request.headers, user_id)
    if thread is None:
        return None
    if label is not None:
        raise ApiError(422, f"threads hold supervisor runs: send the thread to {SUPERVISOR_PATH}/, or leave it "
                       f"out for a stateless run of /agents/{label}/", error_type="invalid_request_error",
                       code="thread_on_agent_route")
    if getattr(request.app.state, "threaded_graph", None) is None:
        raise ApiError(422, "this server keeps no threads (RELAIS_THREADS=false): leave the thread id out",
                       error_type="invalid_request_error", code="threads_disabled")
    return thread


def _requested_model(label: Label | None) -> str:
    return model_id(label) if label else AUTO_MODEL_ID


def _checked_messages(body: Any) -> list[BaseMessage]:
    """The conversation of the request's inputs, once permission fields, user messages and sizes are checked."""
    messages: list[BaseMessage] = []
    for item in request_inputs(body):
        if not isinstance(item, Mapping):
            continue
        for name in PERMISSION_FIELDS:
            if name in item:
                raise ApiError(422, f"'{name}' is set by the server from your identity and the access policy; "
                               "leave it out of the input", error_type="invalid_request_error",
                               code="permission_field")
        if isinstance(item.get("messages"), list):
            check_message_sizes(item["messages"])
            conversation = conversation_messages(item["messages"])
            require_question(conversation)
            messages += conversation
    return messages


def served_config(config: dict[str, Any], request: Request) -> dict[str, Any]:
    """LangServe's per-request config: the server's context, the call log and the audit of the run."""
    run: ChatRun | None = getattr(request.state, "relais_run", None)
    if run is None:  # nothing runs (schemas): no context to give
        return {**config, "configurable": {}}
    audit = RunAudit(request.app.state.audit, run, request.state.relais_identity,
                     _requested_model(run.context.requested_agent))
    configurable: dict[str, Any] = {SERVED_CONTEXT_KEY: run.context}
    served = {**config, "callbacks": [run.calls, audit]}
    if run.thread is not None:
        configurable["thread_id"] = run.thread.thread_id
        served["metadata"] = {**(config.get("metadata") or {}), **run.thread.metadata}
    return {**served, "configurable": configurable}


class RunAudit(BaseCallbackHandler):
    """Writes the audit record of a LangServe run when its root run ends (or fails, or is cut off)."""

    raise_error = False  # a record that cannot be written is logged; the answer is already on its way

    def __init__(self, audit: AuditLog, run: ChatRun, identity: Identity, requested_model: str) -> None:
        self.audit, self.run, self.identity, self.requested_model = audit, run, identity, requested_model
        self.root: UUID | None = None

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, parent_run_id: UUID | None = None,
                       **kwargs: Any) -> None:
        """Remember which run is the root: its end is the request's end."""
        if parent_run_id is None and self.root is None:
            self.root = run_id

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Record the answer, route and sources of a finished run."""
        if run_id == self.root:
            if isinstance(outputs, Mapping):
                keep_final_state(self.run, dict(outputs))
            self._record()

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Record a failed or interrupted run as an error."""
        if run_id == self.root:
            self.run.error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            self._record()

    def _record(self) -> None:
        try:
            account_sync(self.audit, self.run, self.identity, self.requested_model)
        except Exception:  # noqa: BLE001 - logged loudly; the run itself is over
            logger.exception("audit record of LangServe run %s could not be written", self.run.request_id)


class ThreadOrStateless(DynamicRunnable):
    """The supervisor LangServe serves: with the threads' saver when the run has a thread id, else without.

    A graph with a saver needs a thread id on every run, and LangServe serves one runnable per
    path; LangChain's DynamicRunnable picks the runnable per run (schemas come from `default`).
    Only `served_config` sets the thread id: a client's `configurable` never reaches here.
    """

    default: Any  # compiled graphs are Runnables, not the RunnableSerializable the base class declares
    threaded: Any

    def _prepare(self, config: RunnableConfig | None = None) -> tuple[Any, RunnableConfig]:
        config = ensure_config(config)
        has_thread = bool(config.get("configurable", {}).get("thread_id"))
        return (self.threaded if has_thread else self.default), config


def install_served_routes(app: Any, supervisor: Any, agent_graph: Any, threaded: Any | None = None) -> None:
    """LangServe routes with playgrounds: /agents/supervisor/ and /agents/<label>/, governed.

    With `threaded` (the supervisor with the threads' saver), a supervisor run to which
    `served_config` gave a thread id runs on it (`ThreadOrStateless`).
    """
    from langserve import add_routes

    if threaded is not None:
        supervisor = ThreadOrStateless(default=supervisor, threaded=threaded)
    from server.langserve_checks import check_langserve_body

    checks = [Depends(check_langserve_body), Depends(govern)]
    add_routes(app, supervisor, path=SUPERVISOR_PATH, dependencies=checks, per_req_config_modifier=served_config)
    for label in LABELS:
        add_routes(app, agent_graph(label), path=f"/agents/{label}", dependencies=checks,
                   per_req_config_modifier=served_config)
