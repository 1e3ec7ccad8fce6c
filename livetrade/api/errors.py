"""Every failure in one shape, ``{"success": false, "message", "code", "field"}``: the API's own
refusals, the engine's rejections, schema errors, oversized bodies and bugs."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from livetrade.api.models import ErrorItem
from livetrade.errors import AuthError, InvalidInput, LiveTradeError, OrderRejected, SessionClosed

log = logging.getLogger("livetrade.api")

MAX_BODY_BYTES = 64 * 1024  # every request body here is a few hundred bytes


class ApiError(Exception):
    """A refusal decided by the API layer itself (auth, feed attached, closed session)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers


_REJECTION_STATUS: dict[str, int] = {
    "UNKNOWN_ORDER": 404,
    "NOT_OPEN": 409,
    "KILL_SWITCH": 403,
    "KILL_SWITCH_REDUCING": 403,
    "RATE_LIMIT": 429,
}
"""Engine codes with a more specific status than 400 (the original answered 400)."""


def rejection_status(code: str) -> int:
    """The HTTP status of an engine rejection code: 400 unless the code says more."""
    return _REJECTION_STATUS.get(code, 400)


def _failure(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    errors: list[ErrorItem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"success": False, "message": message, "code": code, "field": field}
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    return JSONResponse(body, status_code=status, headers=headers)


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


async def _on_rejected(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OrderRejected)
    return _failure(rejection_status(exc.code), exc.code, exc.reason, exc.field)


async def _on_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInput)
    return _failure(400, "INVALID_INPUT", f"{exc.field} {exc.reason}.", exc.field)


async def _on_closed(request: Request, exc: Exception) -> JSONResponse:
    return _failure(503, "SESSION_CLOSED", str(exc))


async def _on_live_error(request: Request, exc: Exception) -> JSONResponse:
    """Any other livetrade error (journal, feed...) is the service's state, not the client's
    input: 503 with its sentence. An ``AuthError`` is summarized, since broker credential
    messages are not for remote clients."""
    assert isinstance(exc, LiveTradeError)
    code = re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).upper()
    if isinstance(exc, AuthError):
        log.warning("broker authentication failed during %s %s", request.method, request.url.path)
        return _failure(503, code, "The broker rejected this session's credentials.")
    return _failure(503, code, str(exc))


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _failure(exc.status, exc.code, exc.message, exc.field, headers=exc.headers)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    """Pydantic errors in the original's ``success/message`` shape; never the input echoed."""
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    items = [
        ErrorItem(
            loc=[p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            msg=str(e.get("msg", "invalid")),
            type=str(e.get("type", "invalid")),
        )
        for e in raw
    ]
    if any(e.type == "json_invalid" for e in items):
        return _failure(400, "MALFORMED_JSON", "The request body is not valid JSON.", None, items)
    first = items[0] if items else None
    field = _field_of(first.loc) if first else None
    if first is None:
        message = "The request does not match the schema."
    elif first.type == "missing" and field is None:
        message = "The request needs a JSON object body."
    elif field is None:
        message = f"The request body is invalid: {first.msg}."
    else:
        message = f"{field}: {first.msg}."
    return _failure(422, "INVALID_REQUEST", message, field, items)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    """Routing errors (404/405) and FastAPI's body-parsing 400 (e.g. invalid UTF-8)."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        return _failure(400, "MALFORMED_JSON", "The request body is not valid JSON.")
    codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "BODY_TOO_LARGE"}
    code = codes.get(exc.status_code, f"HTTP_{exc.status_code}")
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405:
        allow = _allowed(request, (headers or {}).get("Allow"))
        if allow is not None:
            headers = (headers or {}) | {"Allow": allow}
    return _failure(exc.status_code, code, str(exc.detail), headers=headers)


def _allowed(request: Request, given: str | None) -> str | None:
    """Every documented method of this path (one path may have a GET and a DELETE route:
    Starlette's 405 names only the first route's), else what Starlette said."""
    methods: set[str] = set()
    path = request.url.path
    for template, ops in request.app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)), path):
            methods |= {m.upper() for m in ops}
    return ", ".join(sorted(methods)) if methods else given


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A bug, not bad input: log it, answer 500 in the usual shape, reveal nothing."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _failure(500, "INTERNAL_ERROR", "Internal error; see the server log.")


class _BodyLimit:
    """413 in the usual failure shape for a body over ``limit`` bytes, whether announced by
    Content-Length or streamed; bodies are read before auth, so this bounds what anyone can make
    the server buffer."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"The request body is larger than {self.limit} bytes."
        for name, value in scope["headers"]:
            if name == b"content-length" and (
                len(value) > 12 or not value.isdigit() or int(value) > self.limit
            ):
                await _failure(413, "BODY_TOO_LARGE", too_large)(scope, receive, send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:  # FastAPI lets an HTTPException through its body parsing
                    raise StarletteHTTPException(413, too_large)
            return message

        await self.app(scope, limited, send)


def _new_app() -> FastAPI:
    """The FastAPI app with the body limit and every error mapped to a ``Failure``."""
    app = FastAPI(
        title="livetrade",
        version="0.1.0",
        summary="Paper/live trading of Indian markets via Fyers: the original REST API.",
    )
    app.add_middleware(_BodyLimit, limit=MAX_BODY_BYTES)
    app.add_exception_handler(OrderRejected, _on_rejected)
    app.add_exception_handler(InvalidInput, _on_invalid)
    app.add_exception_handler(SessionClosed, _on_closed)
    app.add_exception_handler(LiveTradeError, _on_live_error)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
    return app
