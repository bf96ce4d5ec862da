"""The web process's logs: a request id per request (echoed as `X-Request-ID`) and one access
line per response. The JSON format and the id variables live in `runtime.logs`."""

from __future__ import annotations

import logging
import time
import uuid

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from runtime import logs
from runtime.logs import request_id

__all__ = ["access_log", "configure_logging", "request_id", "request_id_middleware"]


def configure_logging() -> None:
    """JSON lines (runtime.logs) without uvicorn's access lines: `access_log` writes ours."""
    logs.configure_logging()
    logging.getLogger("uvicorn.access").disabled = True


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Give each request an id (kept from a sane `X-Request-ID`) and note when it started."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if given.isalnum() and len(given) <= 64 else uuid.uuid4().hex
        request_id.set(rid)
        scope.setdefault("state", {})["started"] = time.perf_counter()
        await app(scope, receive, send)

    return middleware


_access = logging.getLogger("hirebuddha.access")


async def access_log(message: Message, scope: Scope) -> None:
    """`before_send` hook: echo the request id and log one line per HTTP response.

    A hook rather than middleware because it also sees answers produced by the exception
    handler (e.g. a 401 from the auth middleware), which wrap outside user middleware.
    """
    if message["type"] != "http.response.start":
        return
    rid = request_id.get() or ""
    message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
    started = scope.get("state", {}).get("started", time.perf_counter())
    _access.info(
        "request",
        extra={
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": message["status"],
            "ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
