"""Hourly quotas of a tenant's tier: API calls (every authenticated `/api/v1` and `/v1` call)
and requests (every execution admitted: chat message, REST execution, job). docs/limits.md.

The counters live in PostgreSQL (`rate_counters`, `hb_rate_take`), so several web processes
share one budget: a unit is taken by one atomic upsert that refuses at the limit. Windows are
fixed clock hours (UTC); `Retry-After` and `RateLimit-Reset` say when the current one ends.

Answers carry the remaining budget in the IETF draft's headers (`RateLimit-Limit`,
`RateLimit-Remaining`, `RateLimit-Reset`, `RateLimit-Policy`); an unlimited tier sends none.
App admins and partner admins are not metered: they run the platform, not a workspace.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import msgspec
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from runtime import db
from runtime.errors import CodedError, ErrorCode
from web.auth.identity import Principal
from web.logs import request_id

log = logging.getLogger("hirebuddha.web")

API_CALLS = "api_calls"
REQUESTS = "requests"

UNMETERED_ROLES = frozenset({"app_admin", "partner_admin"})


@dataclass(frozen=True)
class Taken:
    """One unit asked for: whether it was granted and the window's budget after it."""

    allowed: bool
    limit: int | None
    """None: unlimited."""
    used: int | None
    reset_s: int

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None or self.used is None else max(0, self.limit - self.used)

    def headers(self) -> dict[str, str]:
        """The RateLimit headers of this budget (none when unlimited)."""
        if self.limit is None:
            return {}
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
            "RateLimit-Policy": f"{self.limit};w=3600",
        }


class QuotaExceeded(CodedError):
    """An hourly quota is used up: 429 with `Retry-After` and the RateLimit headers."""

    def __init__(self, code: str, message: str, taken: Taken) -> None:
        super().__init__(code, message, 429)
        self.taken = taken
        self.headers = {"Retry-After": str(taken.reset_s), **taken.headers()}


async def take(tenant_id: uuid.UUID, kind: str) -> Taken:
    """Take one unit of the tenant's hourly `kind` budget (in the caller's transaction when
    there is one: a refusal raised later rolls the unit back with it)."""
    row = await db.fetchrow("SELECT * FROM hb_rate_take($1, $2)", tenant_id, kind)
    assert row is not None  # hb_rate_take answers one row
    return Taken(row["allowed"], row["rate_limit"], row["used"], row["reset_s"])


async def take_api_call(tenant_id: uuid.UUID) -> Taken:
    """Take one API-call unit: one statement that is its own transaction (`hb_api_take` sets
    the tenant scope itself), not four round trips per HTTP call."""
    rows = await db.fetch_alone("SELECT * FROM hb_api_take($1)", tenant_id)
    row = rows[0]  # hb_api_take answers one row
    return Taken(row["allowed"], row["rate_limit"], row["used"], row["reset_s"])


def refusal_message(what: str, taken: Taken) -> str:
    """What a client reads when its hourly `what` are used up."""
    return f"This workspace's plan allows {taken.limit} {what} per hour; retry in {taken.reset_s} s."


def _metered(scope: Scope) -> Principal | None:
    user = scope.get("user")
    if isinstance(user, Principal) and user.role not in UNMETERED_ROLES:
        return user
    return None


def _problem(exc: QuotaExceeded) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = msgspec.json.encode(
        {
            "status": 429,
            "title": "Too Many Requests",
            "code": exc.code,
            "detail": exc.message,
            "request_id": request_id.get(),
        }
    )
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
    return body, headers


def api_quota_middleware(app: ASGIApp) -> ASGIApp:
    """Count every authenticated HTTP call of a tenant against its tier's API calls per hour.

    Placed after the authentication middleware, so `scope["user"]` is the caller. Over the
    limit the call is answered 429 here, before any handler runs.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        me = _metered(scope) if scope["type"] == "http" else None
        if me is None:
            await app(scope, receive, send)
            return
        taken = await take_api_call(me.tenant_id)
        if not taken.allowed:
            exc = QuotaExceeded(ErrorCode.API_QUOTA_EXCEEDED, refusal_message("API calls", taken), taken)
            body, headers = _problem(exc)
            start: HTTPResponseStartEvent = {"type": "http.response.start", "status": 429, "headers": headers}
            await send(start)
            end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
            await send(end)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in taken.headers().items()]

        async def send_with_budget(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await app(scope, receive, send_with_budget)

    return middleware
