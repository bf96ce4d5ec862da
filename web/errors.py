"""RFC 9457-style problem answers: `{status, title, detail, errors?}`, never a 500 for input.

Database errors a client can cause (a duplicate, a value PostgreSQL refuses) map to 409/400
here, so no handler has to remember them; anything else is a 500 that is logged with the
request id and says nothing of internals.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from web.logs import request_id

log = logging.getLogger("hirebuddha.web")


def problem(status: int, detail: str, errors: Any = None, headers: dict | None = None) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {
        "status": status,
        "title": HTTPStatus(status).phrase,
        "detail": detail,
        "request_id": request_id.get(),
    }
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type="application/problem+json", headers=headers)


def _http(request: Request, exc: HTTPException) -> Response:
    errors = exc.extra if isinstance(exc, ValidationException) else None
    detail = exc.detail
    if isinstance(exc, ValidationException) and isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict) and first.get("message"):
            detail = f"Validation failed: {first['message']}"
    return problem(exc.status_code, detail, errors, exc.headers)


def _database(request: Request, exc: asyncpg.PostgresError) -> Response:
    if isinstance(exc, asyncpg.UniqueViolationError):
        return problem(409, "That already exists.")
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return problem(409, "It refers to something that does not exist or is still in use.")
    if isinstance(exc, asyncpg.DataError | asyncpg.CharacterNotInRepertoireError):
        return problem(400, "A value was not acceptable (bad characters or out of range).")
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return problem(403, "Not allowed.")
    return _unexpected(request, exc)


def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "Internal error; quote the request id when reporting it.")


def _unavailable(request: Request, exc: Exception) -> Response:
    log.warning("dependency unavailable on %s: %s", request.url.path, type(exc).__name__)
    return problem(503, "A backing service is unavailable; retry shortly.", headers={"Retry-After": "2"})


EXCEPTION_HANDLERS = {
    HTTPException: _http,
    asyncpg.PostgresError: _database,
    OSError: _unavailable,
    asyncpg.InterfaceError: _unavailable,
    Exception: _unexpected,
}
