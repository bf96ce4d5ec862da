"""RFC 9457-style problem answers: `{status, title, code, detail, request_id, errors?}`.

Every body carries a machine `code` from `runtime.errors.ErrorCode`: a refusal raised as a
`CodedError` (admission, budget) keeps its own; Litestar's HTTP errors get the code of their
status (`validation_error`, `not_found`, `unauthorized`...). Database errors a client can
cause (a duplicate, a value PostgreSQL refuses) map to 409/400 here, so no handler has to
remember them; anything else is a 500 that is logged with the request id and says nothing of
internals. Never a 500 for input.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from runtime.errors import CodedError, ErrorCode
from web.logs import request_id

log = logging.getLogger("hirebuddha.web")

# The code of an HTTP error that names none of its own.
_STATUS_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    402: ErrorCode.INSUFFICIENT_CREDIT,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.TOO_LARGE,
    429: ErrorCode.TOO_MANY_REQUESTS,
    503: ErrorCode.UNAVAILABLE,
}
# Refusals a client should retry after a moment.
_RETRY_AFTER = {429: "1", 503: "2"}


def problem(status: int, code: str, detail: str, errors: Any = None, headers: dict | None = None) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {
        "status": status,
        "title": HTTPStatus(status).phrase,
        "code": code,
        "detail": detail,
        "request_id": request_id.get(),
    }
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type="application/problem+json", headers=headers)


def _coded(request: Request, exc: CodedError) -> Response:
    status = exc.status or 400
    headers = {"Retry-After": _RETRY_AFTER[status]} if status in _RETRY_AFTER else None
    if isinstance(getattr(exc, "headers", None), dict):  # a quota refusal says when to retry
        headers = {**(headers or {}), **exc.headers}  # type: ignore[attr-defined]
    return problem(status, exc.code, exc.message, headers=headers)


def _http(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc.__cause__, CodedError):  # a refusal re-raised as an HTTP error keeps its code
        code = exc.__cause__.code
    elif isinstance(exc, ValidationException):
        code = ErrorCode.VALIDATION_ERROR
    else:
        code = _STATUS_CODES.get(
            exc.status_code, ErrorCode.BAD_REQUEST if exc.status_code < 500 else ErrorCode.INTERNAL_ERROR
        )
    errors = exc.extra if isinstance(exc, ValidationException) else None
    detail = exc.detail
    if isinstance(exc, ValidationException) and isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict) and first.get("message"):
            detail = f"Validation failed: {first['message']}"
    return problem(exc.status_code, code, detail, errors, exc.headers)


_OVERLOADED = (
    asyncpg.InsufficientResourcesError,
    asyncpg.OperatorInterventionError,
    asyncpg.PostgresConnectionError,
)


def _database(request: Request, exc: asyncpg.PostgresError) -> Response:
    if isinstance(exc, asyncpg.UniqueViolationError):
        return problem(409, ErrorCode.CONFLICT, "That already exists.")
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return problem(
            409, ErrorCode.CONFLICT, "It refers to something that does not exist or is still in use."
        )
    if isinstance(exc, asyncpg.DataError | asyncpg.CharacterNotInRepertoireError):
        return problem(
            400, ErrorCode.BAD_VALUE, "A value was not acceptable (bad characters or out of range)."
        )
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return problem(403, ErrorCode.FORBIDDEN, "Not allowed.")
    if isinstance(exc, _OVERLOADED):
        # Too many connections, out of disk or memory, a shutdown, a cancelled statement or a
        # lost connection: the server is overloaded or going away, not the request wrong.
        # Retry later.
        return _unavailable(request, exc)
    return _unexpected(request, exc)


_UNAVAILABLE = (
    asyncpg.InsufficientResourcesError,
    asyncpg.OperatorInterventionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    OSError,
)


def _caused_by_an_outage(exc: BaseException) -> bool:
    """True when a backing service going away is somewhere in the chain of `exc` (a library
    that wraps a refused or killed connection in an error of its own)."""
    seen: BaseException | None = exc
    for _ in range(6):
        seen = seen.__cause__ or seen.__context__ if seen is not None else None
        if seen is None:
            return False
        if isinstance(seen, _UNAVAILABLE):
            return True
    return False


def _unexpected(request: Request, exc: Exception) -> Response:
    if _caused_by_an_outage(exc):
        return _unavailable(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, ErrorCode.INTERNAL_ERROR, "Internal error; quote the request id when reporting it.")


def _unavailable(request: Request, exc: Exception) -> Response:
    log.warning("dependency unavailable on %s: %s", request.url.path, type(exc).__name__)
    return problem(
        503,
        ErrorCode.UNAVAILABLE,
        "A backing service is unavailable; retry shortly.",
        headers={"Retry-After": "2"},
    )


EXCEPTION_HANDLERS = {
    CodedError: _coded,
    HTTPException: _http,
    asyncpg.PostgresError: _database,
    OSError: _unavailable,
    asyncpg.InterfaceError: _unavailable,
    Exception: _unexpected,
}
