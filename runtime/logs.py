"""Structured logs of every process: one JSON object per line on stderr, one formatter.

web, actors and ledger all call `configure_logging`. A line carries the ids of the work that
wrote it where there is one: `request_id` (set per HTTP request or socket by web) and
`execution_id` (set by an actors process for the run it executes), so one grep follows a
chat message across processes. Extras passed with `extra={...}` become fields.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import time

import msgspec

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
"""The HTTP request (or WebSocket handshake) being served, in the web process."""
execution_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("execution_id", default=None)
"""The execution being run, in an actors process (set in the actor's task)."""

_STD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message", "taskName"}
_IDS = (("request_id", request_id), ("execution_id", execution_id))
# Libraries that log every connection event at INFO: useful only when something is wrong.
_CHATTY = ("aiormq", "aio_pika", "httpx")


_JSON = msgspec.json.Encoder(enc_hook=str)
"""Anything msgspec cannot encode (an extra's object) is written as its `str`."""


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ids present and extras."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # one strftime a second, not one a line
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        out = {
            "ts": f"{self._stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, var in _IDS:
            if value := var.get():
                out[name] = value
        for key, value in vars(record).items():
            if key not in _STD:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return _JSON.encode(out).decode()


def configure_logging(level: str = "INFO") -> None:
    """Route every logger of this process through one JSON handler on stderr."""
    # The logging HOWTO's "Optimization": our lines name no file, line, thread or process, so
    # the record need not look them up (the caller's frame walk was a third of a line's cost).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
