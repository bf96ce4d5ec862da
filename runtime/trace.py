"""First-token stage marks for the bench: where every millisecond of a first token goes.

Off unless `HB_TRACE_DIR` is set (the bench sets it for the stack it starts); then each
process appends `<execution id> <stage> <unix time>` lines to a file of its own there, and
the bench joins them by execution id (`tools.bench.stages`), reading them at least
`FLUSH_S` after the marks it needs were made. Off, a mark is one global check. Stages, in
path order: web `received` (the chat frame), `admission_sent` and
`admission_answered` (its statement), `admitted` (the execution row written), web `queued`
(publish confirmed), actors `delivered`, `consumed`, `claim_sent` and `claim_answered` (its
statement), `claimed`,
`provider_called`, `provider_first_byte`, `first_token`, `delta_published`, web
`relayed`, `socket_sent`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import os
import time
from typing import IO, Any

_DIR = os.environ.get("HB_TRACE_DIR")
ENABLED = bool(_DIR)
_file: IO[str] | None = None
current: contextvars.ContextVar[Any] = contextvars.ContextVar("traced_execution", default=None)
"""The execution the running task works for (set by the actor), for marks deep in a call."""


FLUSH_S = 0.05
"""Marks are written to their file at most this long after they were made: one write for
all the marks of that moment, not a system call per mark (line buffering cost the actors
process ~4% of its CPU in a burst, a cost only the bench paid)."""
_flush_pending = False


def mark(execution_id: Any, stage: str, at: float | None = None) -> None:
    """Record that `execution_id` reached `stage` now (or at `at`, unix seconds)."""
    if not ENABLED:
        return
    global _file, _flush_pending
    if _file is None:
        assert _DIR is not None
        _file = open(os.path.join(_DIR, f"trace-{os.getpid()}.txt"), "a")  # noqa: SIM115
        atexit.register(_file.flush)
    _file.write(f"{execution_id} {stage} {time.time() if at is None else at:.6f}\n")
    if _flush_pending:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop to flush later: now
        _file.flush()
        return
    _flush_pending = True
    loop.call_later(FLUSH_S, _flush)


def _flush() -> None:
    global _flush_pending
    _flush_pending = False
    if _file is not None:
        _file.flush()


def mark_current(stage: str) -> None:
    """`mark` for the execution of the running task, if any."""
    if ENABLED and (execution_id := current.get()) is not None:
        mark(execution_id, stage)
