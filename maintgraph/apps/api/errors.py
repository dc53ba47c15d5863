"""How the service refuses: one error body (``{"error": {"message", "type", "code"}}``) for its own
refusals, the agent's errors, FastAPI's and Starlette's, and failures inside a stream.

A refusal the client can act on (bad input, no such record, busy) says what was wrong. A failure
whose text is the server's business (a dependency down: libpq's socket paths and hosts, Maximo's
URLs; a model answer that could not be used; a bug) is logged whole under a short error id, and
the client gets a short message with that id (also as ``error.id``). The chat bots answer the
same way (:func:`public_error`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from maintgraph.errors import (
    Busy,
    ConfigError,
    ConversationBusy,
    GraphQueryError,
    MaintgraphError,
    MigrationError,
    ModelError,
    NotFound,
    ServiceError,
    StructuredOutputError,
    public_error,
    validation_problems,
)

if TYPE_CHECKING:
    from maintgraph.apps.api.metrics import Metrics

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.retry_after_s = status, kind, retry_after_s


# What an agent error means to a client, first match wins; other MaintgraphErrors name bad input (400).
# A bug-like one (a graph query the engine refused, a failed migration) is a 500, logged.
STATUS_OF: list[tuple[type[MaintgraphError], int, str]] = [
    (Busy, 503, "busy"), (ServiceError, 503, "service_unavailable"), (ConversationBusy, 409, "conversation_busy"),
    (NotFound, 404, "not_found"), (ModelError, 502, "model_error"), (StructuredOutputError, 502, "model_error"),
    (ConfigError, 400, "invalid_request"),
]  # fmt: skip
RETRY_AFTER_S = 5  # when a dependency is down: about a restart's first check


def status_of(exc: MaintgraphError) -> tuple[int, str]:
    for kind, status, name in STATUS_OF:
        if isinstance(exc, kind):
            return status, name
    return (500, "internal_error") if isinstance(exc, (GraphQueryError, MigrationError)) else (400, "invalid_request")


def error_body(status: int, kind: str, message: str, error_id: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": str(status), **({"id": error_id} if error_id else {})}}


def error_response(status: int, kind: str, message: str, retry_after_s: int | None = None,
                   error_id: str | None = None) -> JSONResponse:  # fmt: skip
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s else {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(error_body(status, kind, message, error_id), status, headers=headers)


def error_event(exc: Exception) -> dict[str, Any]:
    """The error body of a turn that failed after its stream's status line was sent."""
    status, kind = status_of(exc) if isinstance(exc, MaintgraphError) else (500, "internal_error")
    message, error_id = public_error(exc, "a streamed turn")
    return error_body(status, kind, message, error_id)


def add_error_handlers(app: FastAPI, metrics: Metrics) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.kind, str(exc), exc.retry_after_s)

    @app.exception_handler(MaintgraphError)
    async def refused(request: Request, exc: MaintgraphError) -> JSONResponse:
        status, kind = status_of(exc)
        if isinstance(exc, Busy):
            metrics.busy.inc()
        message, error_id = public_error(exc, f"{request.method} {request.url.path}")
        retry = exc.retry_after_s if isinstance(exc, Busy) else RETRY_AFTER_S if status == 503 else None
        return error_response(status, kind, message, retry, error_id)

    @app.exception_handler(StarletteHTTPException)  # FastAPI's and Starlette's own (404, 405, 413)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(RequestValidationError)  # the same error body as every other refusal
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", validation_problems(exc, "body", limit=10))

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        message, error_id = public_error(exc, f"{request.method} {request.url.path}")
        return error_response(500, "internal_error", message, error_id=error_id)
