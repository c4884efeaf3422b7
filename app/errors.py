"""One error shape for the whole API: {"error": {"code", "message", "details"}}.

Pages (anything outside /api and /healthz) get a friendly HTML page instead, rendered by
`app.web.templating.render_error`.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import (
    DatabaseError,
    DBAPIError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.db import error_summary
from app.http.answers import route_pattern
from app.web.templating import render_error
from scoring import SubmissionInvalid

log = logging.getLogger("app")

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


Detail = dict[str, Any]


def documented_methods(request: Request) -> str | None:
    """The methods the OpenAPI document lists at the request's path, or None off the API.
    Starlette's 405 names only the methods of the first route on a path; a path served by
    several routes (GET and PUT /api/v1/plans/{token}) takes them all."""
    path = request.url.path
    for template, operations in request.app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            return ", ".join(sorted(m.upper() for m in operations))
    return None


class AppError(Exception):
    """A failure we expect and can explain. Each subclass carries its HTTP status and code."""

    status_code = 400
    code = "bad_request"
    headers: dict[str, str] | None = None

    def __init__(self, message: str, details: list[Detail] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidRequest(AppError):
    status_code, code = 422, "invalid_request"


class InvalidSubmission(AppError):
    status_code, code = 422, "invalid_submission"

    @classmethod
    def from_problems(cls, exc: SubmissionInvalid) -> InvalidSubmission:
        return cls(
            "The submission does not match the quiz; see details.",
            [p.model_dump() for p in exc.problems],
        )


class InvalidIdempotencyKey(AppError):
    status_code, code = 422, "invalid_idempotency_key"


class IdempotencyKeyReused(AppError):
    status_code, code = 409, "idempotency_key_reused"
    # The response first stored under the key (the form links to it).
    response_id: str | None = None


class NotFound(AppError):
    status_code, code = 404, "not_found"


class EmbedUnavailable(NotFound):
    """`?embed=1&partner=SLUG` with no such active partner (mistyped, or revoked). Its page is
    shown inside the partner's frame, so that the visitor reads why instead of a broken box.
    `reason` (`unknown_partner`, `revoked_partner`) is what the host page is told."""

    def __init__(self, message: str, reason: str = "unknown_partner"):
        super().__init__(message)
        self.reason = reason


class TeamClosed(AppError):
    status_code, code = 409, "team_closed"


class Unauthorized(AppError):
    status_code, code = 401, "unauthorized"


class RateLimited(AppError):
    status_code, code = 429, "too_many_requests"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


class UnsupportedMediaType(AppError):
    status_code, code = 415, "unsupported_media_type"


class ExportDisabled(AppError):
    status_code, code = 503, "export_disabled"


class PartnerError(AppError):
    """A partner cannot be created or changed as asked; the message says why."""

    status_code, code = 422, "invalid_partner"


def error_body(code: str, message: str, details: list[Detail] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def json_error(
    status_code: int,
    code: str,
    message: str,
    details: list[Detail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, details), status_code=status_code, headers=headers
    )


def wants_html(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api") or path in ("/healthz", "/openapi.json"))


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] if parts[0] == "body" else parts
    return ".".join(str(p) for p in parts) or "body"


def validation_details(errors: list[Detail]) -> list[Detail]:
    details = []
    for err in errors:
        message = err.get("msg", "invalid value")
        if err.get("type") == "extra_forbidden":
            message = "unknown field"
        if err.get("type") == "json_invalid":
            # The location is a character offset: name the body, and say where it broke.
            offset = list(err.get("loc") or ("body", "?"))[-1]
            field, message = "body", f"the body is not valid JSON (at character {offset})"
            details.append({"field": field, "code": "json_invalid", "message": message})
            continue
        details.append(
            {
                "field": _field(err.get("loc", ())),
                "code": err.get("type", "invalid"),
                "message": message,
            }
        )
    return details


RETRY_AFTER_SECONDS = 5
# PostgreSQL's read_only_sql_transaction (psycopg raises it as an InternalError).
READ_ONLY = frozenset({"25006"})


def database_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached or read (down, restarting, missing, a damaged file, the
    pool exhausted), as opposed to a bug in what we asked of it (an integrity or SQL error)."""
    if isinstance(exc, PoolTimeout | OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in READ_ONLY:
        return True  # a standby, or a primary set read-only: it reads but takes no write
    return type(exc) is DatabaseError


def _detailed(request: Request) -> bool:
    """ACCESS_LOG_DETAIL: logs may name paths (with ids) and errors' own messages."""
    return bool(getattr(request.app.state.settings, "access_log_detail", False))


FASTAPI_UNREADABLE_BODY = "There was an error parsing the body"


def install_error_handlers(app: FastAPI) -> None:
    def render(
        request: Request,
        status_code: int,
        code: str,
        message: str,
        details: list[Detail] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        if wants_html(request):
            return render_error(request, status_code, message, headers, details)
        return json_error(status_code, code, message, details, headers)

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        if isinstance(exc, EmbedUnavailable) and wants_html(request):
            return render_error(
                request, exc.status_code, exc.message, framable=True, reason=exc.reason
            )
        return render(request, exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(SubmissionInvalid)
    async def _submission_invalid(request: Request, exc: SubmissionInvalid) -> Response:
        error = InvalidSubmission.from_problems(exc)
        return render(request, error.status_code, error.code, error.message, error.details)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = validation_details(list(exc.errors()))
        return render(
            request, 422, "invalid_request", "The request is not valid; see details.", details
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        details = None
        if exc.status_code == 404 and message == "Not Found":
            message = f"Nothing at {request.url.path}."
        if exc.status_code == 400 and message == FASTAPI_UNREADABLE_BODY:
            # FastAPI's words for a body it could not decode at all: bytes that are not UTF-8,
            # or JSON nested deeper than Python's parser goes (about a thousand levels).
            message = (
                "The body could not be read: send JSON as UTF-8 text, nested no more than a "
                "few hundred levels deep."
            )
            details = [
                {
                    "field": "body",
                    "code": "unreadable_body",
                    "message": "not UTF-8 JSON, or nested too deep",
                }
            ]
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405 and (documented := documented_methods(request)):
            headers = (headers or {}) | {"Allow": documented}
        return render(request, exc.status_code, code, message, details, headers)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def _database_error(request: Request, exc: Exception) -> Response:
        if not database_unavailable(exc):
            return await _unexpected(request, exc)
        if _detailed(request):
            log.warning("database unavailable on %s: %s", request.url.path, exc)
        else:
            where = route_pattern(request.scope)
            log.warning("database unavailable on %s: %s", where, error_summary(exc))
        return render(
            request,
            503,
            "unavailable",
            "The database is not reachable right now; nothing was lost. Please try again in a "
            "few seconds.",
            None,
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        if _detailed(request):
            log.exception("unhandled error on %s %s", request.method, request.url.path)
        else:
            # Where it broke, without what it was about: messages and values can carry
            # answers, ids or addresses (ACCESS_LOG_DETAIL=true logs them whole).
            frames = "".join(traceback.format_tb(exc.__traceback__))
            where = route_pattern(request.scope)
            log.error(
                "unhandled error on %s %s: %s\n%s",
                request.method,
                where,
                error_summary(exc),
                frames.rstrip(),
            )
        return render(
            request, 500, "internal_error", "Something went wrong on our side; please try again."
        )
