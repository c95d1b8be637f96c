"""Errors in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``.

Every failure the endpoint answers goes through `ApiError` or one of the handlers here, so a
client library (``openai``, ``ChatOpenAI``) raises its usual exception with our message: a
bad request (400, naming the field), a wrong key (401), an unknown model or route (404), too
many runs at once (429 with ``Retry-After``), an unreachable or failing model server (503 /
502), a run past its deadline (504). A server error never shows a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from spec_graph.errors import (
    BackendError,
    RunTimeoutError,
    ServerUnavailableError,
    SpecGraphError,
    UserError,
)

__all__ = ["ApiError", "error_body", "error_for", "install_error_handlers"]

log = logging.getLogger("spec_graph.serve")

_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


class ApiError(Exception):
    """An error answered as JSON in OpenAI's shape, with its HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers or {}

    @property
    def type(self) -> str:
        """OpenAI's error type for the status (``invalid_request_error``, ``server_error``...)."""
        return _TYPES.get(self.status, "server_error" if self.status >= 500 else "api_error")

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        return error_body(self.message, self.type, self.param, self.code)

    def response(self) -> JSONResponse:
        """The whole HTTP answer."""
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def error_body(
    message: str, type_: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """``{"error": {...}}``, as OpenAI writes it (also sent as an SSE event mid-stream)."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_for(exc: BaseException) -> ApiError:
    """The `ApiError` for anything a run raised (a `UserError` is the caller's: 400)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, UserError):
        return ApiError(400, str(exc), code="invalid_value")
    if isinstance(exc, ServerUnavailableError):
        return ApiError(503, f"a model server is unavailable: {exc}", code="model_unavailable")
    if isinstance(exc, RunTimeoutError):
        return ApiError(504, str(exc), code="run_timeout")
    if isinstance(exc, BackendError):
        return ApiError(502, f"a model server failed: {exc}", code="model_error")
    if isinstance(exc, SpecGraphError):
        return ApiError(500, str(exc), code="run_error")
    log.error("chat completion failed", exc_info=exc)
    return ApiError(500, "internal server error (see the server's log)", code="internal_error")


def _param(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or None


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    param = _param(tuple(first.get("loc", ())))
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    where = f"{param}: " if param else ""
    return ApiError(400, f"{where}{message}", param=param, code="invalid_value").response()


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    return ApiError(exc.status_code, str(exc.detail), code=code).response()


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    return error_for(exc).response()


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` in OpenAI's shape."""
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(SpecGraphError, _on_api_error)
    app.add_exception_handler(Exception, _on_api_error)
