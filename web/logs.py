"""Structured JSON logs, each line carrying the request id of the request that wrote it."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
import uuid

from litestar.types import ASGIApp, Message, Receive, Scope, Send

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_STD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id and extras."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if rid := request_id.get():
            out["request_id"] = rid
        out.update({k: v for k, v in vars(record).items() if k not in _STD})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Route every logger through one JSON handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
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
