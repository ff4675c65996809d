"""The Relais HTTP application: OpenAI-compatible API for Open WebUI, LangServe routes, health."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import relais
from agents import all_specs
from graphs.context import Context
from graphs.supervisor import agent_graph, build_supervisor_graph
from relais.labels import AUTO_MODEL_ID, LABELS, label_from_model_id
from relais.settings import get_settings
from server.chat import ChatRun, public_message, run_to_end, sse_chunks
from server.schemas import ChatCompletionRequest, completion_body, completion_id, error_body, to_langchain

logger = logging.getLogger(__name__)

AUTO_TITLE = "Assistant (auto)"


class ApiError(Exception):
    """An error a client caused or must know about, answered OpenAI-style."""

    def __init__(self, status: int, message: str, error_type: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.error_type, self.code = status, message, error_type, code


def create_app(graph: Any | None = None) -> FastAPI:
    """Build the application; `graph` replaces the supervisor (tests, benchmarks)."""
    app = FastAPI(title="Relais", version=relais.__version__, description="Agent gateway behind Open WebUI.")
    app.state.graph = graph if graph is not None else build_supervisor_graph()
    _install_error_handlers(app)
    _install_openai_routes(app)
    _install_langserve_routes(app)
    return app


def model_list() -> list[dict[str, Any]]:
    """Every Relais model as Open WebUI lists it: the supervisor first, then one per agent."""
    entries = [{"id": AUTO_MODEL_ID, "name": AUTO_TITLE, "description": "Choisit l'agent adapté à chaque demande."}]
    entries += [{"id": spec.model_id, "name": spec.title, "description": spec.description} for spec in all_specs()]
    return [{**entry, "object": "model", "created": 0, "owned_by": "relais"} for entry in entries]


def _install_openai_routes(app: FastAPI) -> None:
    @app.get("/health")
    async def health() -> dict[str, Any]:
        settings = get_settings()
        return {"status": "ok", "version": relais.__version__, "remote_models": settings.has_mistral}

    @app.get("/files/{file_id}/{name}")
    async def download(file_id: str, name: str) -> FileResponse:
        from tools.documents import export_path

        try:
            path = export_path(file_id, name)
        except (FileNotFoundError, ValueError):
            raise ApiError(404, f"no exported file {file_id}/{name} (links expire when the data folder is cleaned)",
                           "invalid_request_error", "file_not_found") from None
        return FileResponse(path, filename=path.name)

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": model_list()}

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
        run = _new_run(body)
        cid = completion_id()
        if body.stream:
            return StreamingResponse(
                sse_chunks(request.app.state.graph, run, cid, body.model),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        try:
            await run_to_end(request.app.state.graph, run)
        except Exception as error:
            logger.exception("request %s failed", cid)
            raise ApiError(502, public_message(error), "server_error", "agent_failed") from error
        extra = {"sources": run.sources, "relais": {"route": run.route, "latency_ms": run.latency_ms}}
        return completion_body(cid, body.model, run.answer, run.usage, extra)


def _new_run(body: ChatCompletionRequest) -> ChatRun:
    """Check the request (model, messages, size) and turn it into a run."""
    try:
        label = label_from_model_id(body.model)
    except KeyError:
        known = ", ".join([AUTO_MODEL_ID, *(spec.model_id for spec in all_specs())])
        raise ApiError(404, f"model '{body.model}' does not exist; known models: {known}", "invalid_request_error",
                       "model_not_found") from None
    if not body.messages:
        raise ApiError(400, "'messages' must contain at least one message", "invalid_request_error", "empty_messages")
    limit = get_settings().max_message_chars
    for index, message in enumerate(body.messages):
        if len(message.text()) > limit:
            raise ApiError(413, f"messages[{index}] has {len(message.text())} characters; the limit is {limit}",
                           "invalid_request_error", "message_too_large")
    messages = to_langchain(body.messages)
    if not any(message.type == "human" for message in messages):
        raise ApiError(400, "'messages' must contain a user message", "invalid_request_error", "no_user_message")
    return ChatRun(messages=messages, requested_agent=label, context=Context())


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(error_body(error.message, error.error_type, error.code), status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        if any(problem.get("type") == "json_invalid" for problem in problems):
            return JSONResponse(error_body("request body is not valid JSON", "invalid_request_error", "invalid_json"),
                                status_code=400)
        described = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'] if part != 'body') or 'body'}: {problem['msg']}"
            for problem in problems
        )
        return JSONResponse(error_body(f"invalid request: {described}", "invalid_request_error", "invalid_field"),
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(str(error.detail), "invalid_request_error", error.status_code),
                            status_code=error.status_code, headers=getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return JSONResponse(error_body(public_message(error), "server_error", "internal_error"), status_code=500)


def _install_langserve_routes(app: FastAPI) -> None:
    """LangServe routes with playgrounds: /agents/supervisor/ and /agents/<label>/."""
    from langserve import add_routes

    add_routes(app, app.state.graph, path="/agents/supervisor")
    for label in LABELS:
        add_routes(app, agent_graph(label), path=f"/agents/{label}")
