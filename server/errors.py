"""Errors answered in OpenAI's shape `{"error": {"message", "type", "code"}}`, and their handlers.

No traceback ever reaches a client: unexpected failures are logged and answered with a generic message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.audit import AuditUnavailable

logger = logging.getLogger(__name__)


class ApiError(HTTPException):
    """An error the server answers in the OpenAI shape `{"error": {"message", "type", "code"}}`."""

    def __init__(
        self, status_code: int, message: str, *, error_type: str, code: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status_code, detail=message, headers=dict(headers) if headers else None)
        self.message = message
        self.error_type = error_type
        self.code = code

    def to_openai(self) -> dict[str, dict[str, str]]:
        """The JSON body of the error response."""
        return {"error": {"message": self.message, "type": self.error_type, "code": self.code}}


async def openai_error_handler(_request: Request, error: Exception) -> JSONResponse:
    """Exception handler for `ApiError`: `app.add_exception_handler(ApiError, openai_error_handler)`."""
    if not isinstance(error, ApiError):
        raise error
    return JSONResponse(error.to_openai(), status_code=error.status_code, headers=error.headers)


async def audit_unavailable_handler(_request: Request, error: Exception) -> JSONResponse:
    """Exception handler for `server.audit.AuditUnavailable`: 503, the request is refused, not served unaudited."""
    body = ApiError(503, str(error), error_type="server_error", code="audit_unavailable").to_openai()
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})


def error_body(message: str, error_type: str, code: str | int | None = None) -> dict:
    """An OpenAI-style error body."""
    return {"error": {"message": message, "type": error_type, "code": code}}


def public_message(error: Exception) -> str:
    """What a client may read about a failure: the kind, never a traceback."""
    kind = type(error).__name__
    return f"Relais n'a pas pu produire de réponse ({kind}). Réessayez ; si cela persiste, contactez la DSI."


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error OpenAI-style: ours, validation, HTTP, audit outage, and the unexpected."""
    app.add_exception_handler(ApiError, openai_error_handler)
    app.add_exception_handler(AuditUnavailable, audit_unavailable_handler)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI gives dicts; LangServe raises it with plain strings ("Invalid JSON body").
        problems = [problem if isinstance(problem, dict) else {"loc": (), "msg": str(problem)}
                    for problem in error.errors()]
        if any(problem.get("type") == "json_invalid" or problem["msg"] == "Invalid JSON body" for problem in problems):
            return JSONResponse(error_body("request body is not valid JSON", "invalid_request_error", "invalid_json"),
                                status_code=400)
        described = "; ".join(
            f"{'.'.join(str(part) for part in problem.get('loc', ()) if part != 'body') or 'body'}: {problem['msg']}"
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
