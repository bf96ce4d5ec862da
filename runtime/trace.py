"""First-token stage marks for the bench: where every millisecond of a first token goes.

Off unless `HB_TRACE_DIR` is set (the bench sets it for the stack it starts); then each
process appends `<execution id> <stage> <unix time>` lines to a file of its own there, and
the bench joins them by execution id (`tools.bench.stages`). Off, a mark is one global
check. Stages, in path order: web `received` (the chat frame), `admission_sent` and
`admission_answered` (its statement), `admitted` (the execution row written), web `queued`
(publish confirmed), actors `delivered`, `consumed`, `claim_sent` and `claim_answered` (its
statement), `claimed`,
`provider_called`, `provider_first_byte`, `first_token`, `delta_published`, web
`relayed`, `socket_sent`.
"""

from __future__ import annotations

import contextvars
import os
import time
from typing import IO, Any

_DIR = os.environ.get("HB_TRACE_DIR")
ENABLED = bool(_DIR)
_file: IO[str] | None = None
current: contextvars.ContextVar[Any] = contextvars.ContextVar("traced_execution", default=None)
"""The execution the running task works for (set by the actor), for marks deep in a call."""


def mark(execution_id: Any, stage: str, at: float | None = None) -> None:
    """Record that `execution_id` reached `stage` now (or at `at`, unix seconds)."""
    if not ENABLED:
        return
    global _file
    if _file is None:
        assert _DIR is not None
        _file = open(os.path.join(_DIR, f"trace-{os.getpid()}.txt"), "a", buffering=1)  # noqa: SIM115
    _file.write(f"{execution_id} {stage} {time.time() if at is None else at:.6f}\n")


def mark_current(stage: str) -> None:
    """`mark` for the execution of the running task, if any."""
    if ENABLED and (execution_id := current.get()) is not None:
        mark(execution_id, stage)
