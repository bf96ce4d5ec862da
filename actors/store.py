"""SQL of the actors process that is not an execution's life: webhook secrets and attempts.

An execution's transitions (claim, heartbeat, finish, promotion) live in
`runtime.executions`; the names the actor's run uses are re-exported here.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections import defaultdict

from runtime import db
from runtime.executions import Begun, Outcome, begin, ended, finish, heartbeat

__all__ = [
    "Begun",
    "Outcome",
    "begin",
    "ended",
    "finish",
    "heartbeat",
    "heartbeats",
    "record_webhook_attempt",
    "webhook_secret",
]


async def webhook_secret(tenant_id: uuid.UUID, new_secret: str) -> str:
    """The tenant's stored (encrypted) webhook secret; `new_secret` is stored if it has none."""
    async with db.scope(tenant_id):
        await db.execute(
            "UPDATE tenants SET webhook_secret = $2 WHERE id = $1 AND webhook_secret IS NULL",
            tenant_id,
            new_secret,
        )
        row = await db.fetchrow("SELECT webhook_secret FROM tenants WHERE id = $1", tenant_id)
    if row is None:
        raise LookupError(f"tenant {tenant_id} vanished while its webhook was being signed")
    return row["webhook_secret"]


async def record_webhook_attempt(
    tenant_id: uuid.UUID, execution_id: uuid.UUID, url: str, status_code: int | None, error: str | None
) -> int:
    """Log one delivery attempt; returns its number (attempts of earlier deliveries count)."""
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "INSERT INTO webhook_deliveries (id, tenant_id, execution_id, url, attempt, status_code, "
            "error, created_at) SELECT $1, $2, $3, $4, COALESCE(max(attempt), 0) + 1, $5, $6, now() "
            "FROM webhook_deliveries WHERE execution_id = $3 AND tenant_id = $2 RETURNING attempt",
            uuid.uuid4(),
            tenant_id,
            execution_id,
            url,
            status_code,
            error,
        )
    assert row is not None  # INSERT ... SELECT over an aggregate always yields one row
    return row["attempt"]


_HEARTBEATS = """
UPDATE executions e SET updated_at = now(), progress = COALESCE(b.progress::jsonb, e.progress)
FROM unnest($2::uuid[], $3::int[], $4::text[]) AS b(id, attempt, progress)
WHERE e.id = b.id AND e.tenant_id = $1 AND e.status = 'running' AND e.attempt = b.attempt
RETURNING e.id
"""

BEAT_WINDOW_S = 0.02
"""How long a batch of heartbeats collects before its UPDATE (beats come on common ticks)."""


class Heartbeats:
    """`heartbeat` of many executions at once: the beats that come within `BEAT_WINDOW_S`
    go as one UPDATE per tenant (one transaction each), and each caller learns whether its
    attempt still owns its execution. At 300 streams a transaction per beat was an eighth
    of an actors process's CPU (issue 11). A failed UPDATE raises to every caller of its batch.
    """

    def __init__(self) -> None:
        self._pending: dict[uuid.UUID, list[tuple[uuid.UUID, int, str | None, asyncio.Future[bool]]]] = (
            defaultdict(list)
        )
        self._flushing: asyncio.Task[None] | None = None

    async def beat(
        self, execution_id: uuid.UUID, tenant_id: uuid.UUID, attempt: int, progress: str | None = None
    ) -> bool:
        """`heartbeat`, batched: False when this attempt no longer owns the execution."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending[tenant_id].append((execution_id, attempt, progress, future))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        await asyncio.sleep(BEAT_WINDOW_S)
        pending, self._pending = self._pending, defaultdict(list)
        self._flushing = None
        await asyncio.gather(*(self._write(t, beats) for t, beats in pending.items()))

    async def _write(
        self, tenant_id: uuid.UUID, beats: list[tuple[uuid.UUID, int, str | None, asyncio.Future[bool]]]
    ) -> None:
        try:
            async with db.scope(tenant_id):
                rows = await db.fetch(
                    _HEARTBEATS,
                    tenant_id,
                    [b[0] for b in beats],
                    [b[1] for b in beats],
                    [b[2] for b in beats],
                )
        except Exception as exc:
            for *_, future in beats:
                if not future.done():
                    future.set_exception(exc)
            return
        alive = {r["id"] for r in rows}
        for execution_id, _, _, future in beats:
            if not future.done():  # its caller may have been cancelled meanwhile
                future.set_result(execution_id in alive)


_heartbeats: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Heartbeats] = weakref.WeakKeyDictionary()


def heartbeats() -> Heartbeats:
    """The running loop's `Heartbeats` (one per actors process)."""
    loop = asyncio.get_running_loop()
    batcher = _heartbeats.get(loop)
    if batcher is None:
        batcher = _heartbeats[loop] = Heartbeats()
    return batcher
