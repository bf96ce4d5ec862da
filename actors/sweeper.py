"""The sweeper: executions whose actor is gone never stay `running` (or `pending`) forever.

A running attempt refreshes `updated_at` every heartbeat; a row not refreshed for
`stale_after_s` lost its actor (its process died and no redelivery took it over). Every
actors process sweeps; the UPDATE ... RETURNING claims each row once, so sweepers never
report the same execution twice.
"""

from __future__ import annotations

import asyncio
import logging

from faststream.rabbit import RabbitBroker

from actors import progress
from runtime import db
from runtime.broker import Topology
from runtime.messages import ErrorInfo, ExecutionFailed
from runtime.publishing import StreamPublisher

log = logging.getLogger("hirebuddha.actors")

LOST = "The worker running this execution stopped responding."
NEVER_STARTED = "No worker took this execution in time."


async def sweep_once(
    streams: StreamPublisher,
    stale_after_s: float,
    pending_after_s: float,
    usage: tuple[RabbitBroker, Topology] | None = None,
) -> int:
    """Fail orphaned executions and tell their sessions; returns how many were failed.

    With `usage` (broker and topology), a failed running attempt's recorded progress is billed.
    """
    async with db.scope(system=True):  # cross-tenant by nature: it looks at every tenant
        rows = await db.fetch(
            "UPDATE executions SET status = 'failed', completed_at = now(), updated_at = now(), "
            "error_message = CASE status WHEN 'running' THEN $3 ELSE $4 END, "
            "result_data = jsonb_build_object('error_code', "
            "CASE status WHEN 'running' THEN 'actor_lost' ELSE 'not_started' END) "
            "WHERE (status = 'running' AND updated_at < now() - make_interval(secs => $1)) "
            "OR (status = 'pending' AND updated_at < now() - make_interval(secs => $2)) "
            "RETURNING id, tenant_id, session_id, error_message, progress",
            float(stale_after_s),
            float(pending_after_s),
            LOST,
            NEVER_STARTED,
        )
    for row in rows:
        code = "actor_lost" if row["error_message"] == LOST else "not_started"
        log.warning("sweeper failed execution %s (%s)", row["id"], code)
        if usage is not None:
            await progress.bill_dead_attempt(*usage, row["id"], row["tenant_id"], row["progress"])
        await streams.publish(
            ExecutionFailed(
                execution_id=row["id"],
                session_id=row["session_id"],
                error=ErrorInfo(code=code, message=row["error_message"]),
            )
        )
    return len(rows)


async def sweep_forever(
    streams: StreamPublisher,
    interval_s: float,
    stale_after_s: float,
    pending_after_s: float,
    usage: tuple[RabbitBroker, Topology] | None = None,
) -> None:
    """Sweep every `interval_s` until cancelled; an error is logged and the next round runs."""
    while True:
        try:
            await sweep_once(streams, stale_after_s, pending_after_s, usage)
        except Exception:
            log.exception("sweep failed")
        await asyncio.sleep(interval_s)
