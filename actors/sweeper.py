"""The sweeper: executions whose actor is gone never stay `running` (or `pending`) forever.

A running attempt refreshes `updated_at` every heartbeat; a row not refreshed for
`stale_after_s` lost its actor (its process died and no redelivery took it over). Every
actors process sweeps; `executions.fail_orphans` hands each row to one sweeper, which ends
it like any other ending (the dead attempt's recorded progress is billed): the session
hears `execution.failed`, a job gets its result and webhook, and the tenant's queued jobs
get the freed slot (`actors.jobs.report_row`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from actors import jobs, progress
from runtime import executions
from runtime.messages import ErrorInfo, ExecutionFailed

if TYPE_CHECKING:
    from actors.execution import ActorContext

log = logging.getLogger("hirebuddha.actors")

SETTLE_S = 2.0
"""Seconds from a process's start to its first sweep: its consumers' first deliveries
(redeliveries of a dead process's executions) are claimed before it sweeps."""


async def sweep_once(ctx: ActorContext, stale_after_s: float, pending_after_s: float) -> int:
    """Fail orphaned executions and report their end; returns how many were failed."""
    rows = await executions.fail_orphans(stale_after_s, pending_after_s)
    for row in rows:
        log.warning("sweeper failed execution %s (%s)", row["id"], row["error_code"])
        # The dead attempt's recorded tokens are billed once (actors.progress).
        await progress.bill_dead_attempt(ctx.broker, ctx.topo, row["id"], row["tenant_id"], row["progress"])
        await ctx.streams.publish(
            ExecutionFailed(
                execution_id=row["id"],
                session_id=row["session_id"],
                error=ErrorInfo(code=row["error_code"], message=row["error_message"]),
            )
        )
        try:
            await jobs.report_row(ctx, row, row["tenant_id"])
        except Exception:  # the next ending of the tenant (or promote_forever) promotes
            log.exception("sweeper: could not report the end of %s", row["id"])
    return len(rows)


async def sweep_forever(
    ctx: ActorContext, interval_s: float, stale_after_s: float, pending_after_s: float
) -> None:
    """Sweep every `interval_s` until cancelled; an error is logged and the next round runs.

    The first round waits a moment (`SETTLE_S`, at most `stale_after_s`): a process started
    after a crash took longer than `stale_after_s` to come up finds the dead process's rows
    stale, while their messages are being redelivered to its own consumers right now. Swept
    at once, a row would be failed a few milliseconds before its redelivery's claim took it
    over as the next attempt (docs/architecture.md "Pitfalls")."""
    await asyncio.sleep(min(SETTLE_S, stale_after_s))
    while True:
        try:
            await sweep_once(ctx, stale_after_s, pending_after_s)
        except Exception:
            log.exception("sweep failed")
        await asyncio.sleep(interval_s)
