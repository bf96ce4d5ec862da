"""SQL of the actors process that is not an execution's life: webhook secrets and attempts.

An execution's transitions (claim, heartbeat, finish, promotion) live in
`runtime.executions`; the names the actor's run uses are re-exported here.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections import defaultdict

from runtime import db, executions
from runtime.executions import Begun, Outcome, ended, finish, heartbeat

__all__ = [
    "Begun",
    "Outcome",
    "begin",
    "claims",
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


CLAIM_BATCH_MAX = 64
"""Claims in one statement at most."""
CLAIM_BATCHES_IN_FLIGHT = 2
"""Statements of one tenant's claims running at once (per process) at most."""

_Asked = tuple[uuid.UUID, bool, "asyncio.Future[Begun | str | None]"]


class Claims:
    """`executions.begin_many` of many executions at once: the claims of one tenant asked for in
    the same turn of the event loop (the deliveries of one read from the broker) go as one
    statement (`executions.begin_many`: one transaction, one commit, one pooled connection)
    on the next turn. A lone claim is a batch of one and waits for nothing more than that
    turn. At most CLAIM_BATCHES_IN_FLIGHT statements per tenant run at once; claims asked for
    meanwhile join the next one. Under a burst of deliveries the claims of one process share
    a round trip instead of queueing for the pool a transaction each (issue 11).
    """

    def __init__(self) -> None:
        self._waiting: dict[uuid.UUID, list[_Asked]] = {}
        self._running: dict[uuid.UUID, int] = {}
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def begin(
        self, execution_id: uuid.UUID, tenant_id: uuid.UUID, *, wait_turn: bool
    ) -> Begun | str | None:
        """`executions.begin_many` of one execution, batched with the tenant's concurrent claims."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Begun | str | None] = loop.create_future()
        self._waiting.setdefault(tenant_id, []).append((execution_id, wait_turn, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        # A caller that gives up (a cancel) leaves the batch whole: the claim may still be
        # made, and the delivery's redelivery takes it over as with any interrupted attempt.
        return await asyncio.shield(future)

    def _flush(self) -> None:
        self._scheduled = False
        loop = asyncio.get_running_loop()
        for tenant_id in list(self._waiting):
            while self._running.get(tenant_id, 0) < CLAIM_BATCHES_IN_FLIGHT:
                batch = self._take(tenant_id)
                if not batch:
                    break
                self._running[tenant_id] = self._running.get(tenant_id, 0) + 1
                task = loop.create_task(self._claim(tenant_id, batch))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _take(self, tenant_id: uuid.UUID) -> list[_Asked]:
        """The next batch of the tenant: distinct ids (a second ask of one id must never
        share the first one's claim), CLAIM_BATCH_MAX at most; the rest keeps waiting."""
        queue = self._waiting.pop(tenant_id, None)
        if not queue:
            return []
        batch: list[_Asked] = []
        rest: list[_Asked] = []
        seen: set[uuid.UUID] = set()
        for item in queue:
            if item[0] in seen or len(batch) >= CLAIM_BATCH_MAX:
                rest.append(item)
            else:
                seen.add(item[0])
                batch.append(item)
        if rest:
            self._waiting[tenant_id] = rest
        return batch

    async def _claim(self, tenant_id: uuid.UUID, batch: list[_Asked]) -> None:
        try:
            try:
                answers = await executions.begin_many(tenant_id, [(i, w) for i, w, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][2], exc)
                    return
                # Whatever failed the statement (all rolled back): each on its own, so only
                # a claim that fails alone gets the error.
                for execution_id, wait_turn, future in batch:
                    try:
                        one = await executions.begin_many(tenant_id, [(execution_id, wait_turn)])
                    except Exception as exc_one:
                        _settle(future, exc_one)
                    else:
                        _settle(future, one[execution_id])
                return
            for execution_id, _, future in batch:
                _settle(future, answers[execution_id])
        finally:
            # Cancelled (the loop closing) or broken: nobody waits forever.
            for *_, future in batch:
                _settle(future, RuntimeError("the claim was interrupted"))
            self._running[tenant_id] -= 1
            if not self._running[tenant_id]:
                del self._running[tenant_id]
            if self._waiting.get(tenant_id) and not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)


def _settle(future: asyncio.Future[Begun | str | None], answer: Begun | str | None | Exception) -> None:
    if future.done():  # its caller gave up meanwhile
        return
    if isinstance(answer, Exception):
        future.set_exception(answer)
    else:
        future.set_result(answer)


_claims: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Claims] = weakref.WeakKeyDictionary()


def claims() -> Claims:
    """The running loop's `Claims` (one per actors process)."""
    loop = asyncio.get_running_loop()
    batcher = _claims.get(loop)
    if batcher is None:
        batcher = _claims[loop] = Claims()
    return batcher


async def begin(execution_id: uuid.UUID, tenant_id: uuid.UUID, *, wait_turn: bool) -> Begun | str | None:
    """Claim an execution with its agent and history (`runtime.executions.begin_many`), batched
    with the process's concurrent claims of the same tenant (`Claims`)."""
    return await claims().begin(execution_id, tenant_id, wait_turn=wait_turn)
