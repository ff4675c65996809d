"""The Relais HTTP application: OpenAI-compatible API for Open WebUI, LangServe routes, health, metrics.

Every chat request is authenticated (API key, then the Open WebUI user), rate-limited, checked
against the access policy, and audited: if the audit trail cannot be written, the request is
refused rather than served unaudited.
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

import relais
from agents import all_specs
from graphs.supervisor import agent_graph, build_supervisor_graph
from relais.context import Context
from relais.guard import warm_up
from relais.labels import AUTO_MODEL_ID, label_from_model_id
from relais.settings import get_settings
from relais.state import last_user_text
from relais.threads import open_checkpointer
from server import documents
from server.access import ensure_allowed, get_access_policy
from server.accounting import account, account_denial, audited_stream
from server.audit import AuditLog
from server.auth import Identity, authenticate
from server.chat import TASK_HEADER, ChatRun, is_background_task, require_question, run_to_end, sse_chunks
from server.errors import ApiError, install_error_handlers, public_message
from server.limits import BodySizeLimit, check_message_sizes, enforce_rate_limit, limit_body_size
from server.metrics import metrics_response
from server.schemas import ChatCompletionRequest, completion_body, to_langchain
from server.served import install_served_routes
from server.tasks import task_kind
from server.threads import chat_thread

logger = logging.getLogger(__name__)

AUTO_TITLE = "Assistant (auto)"
CurrentIdentity = Annotated[Identity, Depends(authenticate)]


def create_app(graph: Any | None = None) -> FastAPI:
    """Build the application; `graph` replaces the supervisor (tests, benchmarks).

    Raises:
        PolicyError: the access policy file has a mistake (the server refuses to start).
    """
    app = FastAPI(title="Relais", version=relais.__version__, description="Agent gateway behind Open WebUI.")
    app.state.graph = graph if graph is not None else build_supervisor_graph()
    # The same graph with the threads' saver: a chat with a chat id runs on it, any other request
    # on the stateless one (a graph with a saver needs a thread id on every run).
    app.state.threads = open_checkpointer() if get_settings().threads else None
    app.state.threaded_graph = (app.state.graph.copy(update={"checkpointer": app.state.threads})
                                if app.state.threads is not None else None)
    app.state.access_policy = get_access_policy()
    app.state.audit = AuditLog.from_settings()
    if get_settings().has_mistral:  # the guard's language model takes seconds to load: not on the first request
        threading.Thread(target=warm_up, name="guard-warm-up", daemon=True).start()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit)  # every route: a body is never read past RELAIS_MAX_BODY_BYTES
    app.include_router(routes)
    app.include_router(documents.router)  # Open WebUI's external document loader
    install_served_routes(app, app.state.graph, agent_graph, app.state.threaded_graph)
    return app


def model_list() -> list[dict[str, Any]]:
    """The Relais models: the supervisor first, then one per agent.

    The same list for every caller: Open WebUI keeps one model table for all its users, replaced by
    whoever listed models last, so a per-user list made other users' chats fail with "Model not
    found". Who may use which agent is enforced when they chat (403 naming the agents they may use).
    """
    entries = [{"id": AUTO_MODEL_ID, "name": AUTO_TITLE, "description": "Choisit l'agent adapté à chaque demande."}]
    entries += [{"id": spec.model_id, "name": spec.title, "description": spec.description} for spec in all_specs()]
    return [{**entry, "object": "model", "created": 0, "owned_by": "relais"} for entry in entries]


# The OpenAI-compatible face and the service routes, included by `create_app`.
routes = APIRouter()


@routes.get("/health")
async def health() -> dict[str, Any]:
    """Liveness, the version, and whether remote models are configured."""
    settings = get_settings()
    return {"status": "ok", "version": relais.__version__, "remote_models": settings.has_mistral}


@routes.get("/metrics")
async def metrics(identity: CurrentIdentity) -> Any:
    """Prometheus metrics (authenticated)."""
    return metrics_response()


@routes.get("/files/{file_id}/{name}")
async def download(file_id: str, name: str, request: Request, u: str | None = None, exp: str | None = None,
                   sig: str | None = None) -> Response:
    """An export: opened by its signed link (no API key: a browser click), or by an authenticated caller.

    A link that carries any of `u`, `exp`, `sig` is judged by its signature alone (403 when missing,
    forged, altered or expired, whoever sends it); a bare `/files/<id>/<name>` needs the usual
    authentication (API key, or loopback when no key is configured), for scripts and admins.
    The file comes from the export store (relais.exports), so any replica serves any replica's export.
    """
    from relais import signed_links
    from relais.exports import export_store

    if u is None and exp is None and sig is None:
        await authenticate(request)
    else:
        try:
            grant = signed_links.link_signer().verify(file_id, name, {"u": u, "exp": exp, "sig": sig})
        except signed_links.LinkRefused as refusal:
            raise ApiError(403, str(refusal), error_type="permission_error", code=refusal.code) from None
        logger.info("export %s downloaded through the link issued to %s", file_id, grant.user_id)
    try:
        export = await run_in_threadpool(lambda: export_store().get(file_id, name))  # may open the database
    except (FileNotFoundError, ValueError):
        raise ApiError(404, f"no exported file {file_id}/{name} (an export is kept until its link expires)",
                       error_type="invalid_request_error", code="file_not_found") from None
    # The link is the credential: no shared cache keeps the file, no Referer carries the link onwards.
    return Response(export.content, media_type=export.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{export.name}"',
                             "Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"})


@routes.get("/v1/models")
async def list_models(identity: CurrentIdentity) -> dict[str, Any]:
    """Every Relais model, the same list for every caller (see `model_list`)."""
    return {"object": "list", "data": model_list()}


@routes.post("/v1/chat/completions", dependencies=[Depends(limit_body_size)])
async def chat_completions(body: ChatCompletionRequest, request: Request,
                           identity: CurrentIdentity) -> Any:
    """One chat completion through the supervisor, streamed (SSE) or not, audited either way."""
    enforce_rate_limit(request, identity)
    try:
        run = _new_run(body, request, identity)
    except ApiError as error:
        if error.status_code == 403:  # a denied access is part of the trail too
            await account_denial(request.app.state.audit, identity, body.model, error.message)
        raise
    audit: AuditLog = request.app.state.audit
    audit.ensure_writable()  # refuse now rather than answer and fail to audit
    graph = graph_for(request.app, run)
    if body.stream:
        chunks = sse_chunks(graph, run, run.request_id, body.model)
        # Its "started" record is written before the first byte (503 if it cannot be), its outcome at the end.
        stream = await audited_stream(chunks, audit, run, identity, body.model)
        return StreamingResponse(stream, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    try:
        await run_to_end(graph, run)
    except Exception as error:
        logger.exception("request %s failed", run.request_id)
        run.error = f"{type(error).__name__}: {error}"
        await account(audit, run, identity, body.model)
        raise ApiError(502, public_message(error), error_type="server_error", code="agent_failed") from error
    await account(audit, run, identity, body.model)
    extra = {"sources": run.sources, "relais": {"route": run.route, "latency_ms": run.latency_ms}}
    return completion_body(run.request_id, body.model, run.answer, run.usage, extra)


def _new_run(body: ChatCompletionRequest, request: Request, identity: Identity) -> ChatRun:
    """Check the request (model, access, messages, size) and turn it into a run."""
    try:
        label = label_from_model_id(body.model)
    except KeyError:
        known = ", ".join([AUTO_MODEL_ID, *(spec.model_id for spec in all_specs())])
        raise ApiError(404, f"model '{body.model}' does not exist; known models: {known}",
                       error_type="invalid_request_error", code="model_not_found") from None
    policy = request.app.state.access_policy
    ensure_allowed(policy, identity, label)
    if not body.messages:
        raise ApiError(400, "'messages' must contain at least one message", error_type="invalid_request_error",
                       code="empty_messages")
    check_message_sizes(body.messages)
    messages = to_langchain(body.messages)
    require_question(messages)
    allowed = tuple(sorted(policy.allowed_labels(identity)))
    context = Context(user_id=identity.user_id, requested_agent=label, allowed_agents=allowed)
    task = is_background_task(messages, request.headers.get(TASK_HEADER))
    # Open WebUI's background tasks carry the chat id too, but are no turn of the conversation.
    keep = request.app.state.threaded_graph is not None and not task
    thread = chat_thread(request.headers, identity.user_id) if keep else None
    kind = task_kind(request.headers.get(TASK_HEADER), last_user_text(messages)) if task else ""
    return ChatRun(messages=messages, context=context, task=task, task_kind=kind, thread=thread)


def graph_for(app: FastAPI, run: ChatRun) -> Any:
    """The supervisor with the threads' saver for a run on a thread, the stateless one otherwise."""
    return app.state.threaded_graph if run.thread is not None else app.state.graph
