"""SQL of the actors process that is not an execution's life: webhook secrets and attempts.

An execution's transitions (claim, heartbeat, finish, promotion) live in
`runtime.executions`; the names the actor's run uses are re-exported here.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from runtime import db, executions
from runtime.executions import Begun, Outcome, ended, heartbeat

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


BATCH_MAX = 64
"""Executions in one statement at most (a claim or an end)."""
BATCHES_IN_FLIGHT = 2
"""Statements of one tenant's batches running at once (per process and kind) at most."""

K = TypeVar("K")
A = TypeVar("A")


class TenantBatches(Generic[K, A]):
    """Calls about executions of one tenant asked for in the same turn of the event loop (the
    deliveries of one read from the broker, the streams that end on one tick) go as ONE
    statement on the next turn: `run(tenant_id, items)` answers each item by its execution
    id (`item[0]`). A lone call is a batch of one and waits for nothing more than that turn.
    At most BATCHES_IN_FLIGHT statements per tenant run at once; calls asked for meanwhile
    join the next one. Under a burst a process's calls share a round trip, a commit and a
    pooled connection instead of queueing for the pool a transaction each (issue 11).

    A batch holds distinct ids (a second call about one id must never share the first one's
    statement) and BATCH_MAX at most; the rest waits. When a batch's statement fails, each of
    its items is tried alone, so only a call that fails alone gets the error. A caller that
    gives up (a cancel, a hand-back) before its batch is sent leaves it; once sent, the
    statement may still be made.
    """

    def __init__(self, run: Callable[[uuid.UUID, list[K]], Awaitable[dict[uuid.UUID, A]]]) -> None:
        self._run = run
        self._waiting: dict[uuid.UUID, list[tuple[K, asyncio.Future[A]]]] = {}
        self._running: dict[uuid.UUID, int] = {}
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def ask(self, tenant_id: uuid.UUID, item: K) -> A:
        """`run` of this one item, batched with the tenant's concurrent calls."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[A] = loop.create_future()
        self._waiting.setdefault(tenant_id, []).append((item, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # Not sent yet: leave the batch, nothing of it is written. Sent: its statement
            # goes on for the others, and a redelivery takes over as after any interruption.
            waiting = self._waiting.get(tenant_id, [])
            self._waiting[tenant_id] = [asked for asked in waiting if asked[1] is not future]
            if not self._waiting[tenant_id]:
                del self._waiting[tenant_id]
            raise

    def _flush(self) -> None:
        self._scheduled = False
        loop = asyncio.get_running_loop()
        for tenant_id in list(self._waiting):
            while self._running.get(tenant_id, 0) < BATCHES_IN_FLIGHT:
                batch = self._take(tenant_id)
                if not batch:
                    break
                self._running[tenant_id] = self._running.get(tenant_id, 0) + 1
                task = loop.create_task(self._write(tenant_id, batch))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _take(self, tenant_id: uuid.UUID) -> list[tuple[K, asyncio.Future[A]]]:
        queue = self._waiting.pop(tenant_id, None)
        if not queue:
            return []
        batch: list[tuple[K, asyncio.Future[A]]] = []
        rest: list[tuple[K, asyncio.Future[A]]] = []
        seen: set[Any] = set()
        for asked in queue:
            key = _id(asked[0])
            if key in seen or len(batch) >= BATCH_MAX:
                rest.append(asked)
            else:
                seen.add(key)
                batch.append(asked)
        if rest:
            self._waiting[tenant_id] = rest
        return batch

    async def _write(self, tenant_id: uuid.UUID, batch: list[tuple[K, asyncio.Future[A]]]) -> None:
        try:
            try:
                answers = await self._run(tenant_id, [item for item, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], exc)
                    return
                # Whatever failed the statement (all rolled back): each on its own.
                for item, future in batch:
                    try:
                        one = await self._run(tenant_id, [item])
                    except Exception as exc_one:
                        _settle(future, exc_one)
                    else:
                        _settle(future, one[_id(item)])
                return
            for item, future in batch:
                _settle(future, answers[_id(item)])
        finally:
            # Cancelled (the loop closing) or broken: nobody waits forever.
            for _, future in batch:
                _settle(future, RuntimeError("the statement was interrupted"))
            self._running[tenant_id] -= 1
            if not self._running[tenant_id]:
                del self._running[tenant_id]
            if self._waiting.get(tenant_id) and not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)


def _id(item: Any) -> uuid.UUID:
    return item[0]


def _settle(future: asyncio.Future[A], answer: A | Exception) -> None:
    if future.done():  # its caller gave up meanwhile
        return
    if isinstance(answer, Exception):
        future.set_exception(answer)
    else:
        future.set_result(answer)


_Batchers = tuple[
    TenantBatches[tuple[uuid.UUID, bool], "Begun | str | None"],
    TenantBatches[executions.Finish, "bool | None"],
]
_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batchers] = weakref.WeakKeyDictionary()


def _of_loop() -> _Batchers:
    """The running loop's batchers (one set per actors process)."""
    loop = asyncio.get_running_loop()
    found = _batchers.get(loop)
    if found is None:
        found = _batchers[loop] = (
            TenantBatches(executions.begin_many),
            TenantBatches(executions.finish_many),
        )
    return found


async def begin(execution_id: uuid.UUID, tenant_id: uuid.UUID, *, wait_turn: bool) -> Begun | str | None:
    """Claim an execution with its agent and history (`runtime.executions.begin_many`), batched
    with the process's concurrent claims of the same tenant (`TenantBatches`)."""
    return await _of_loop()[0].ask(tenant_id, (execution_id, wait_turn))


async def finish(
    execution_id: uuid.UUID,
    tenant_id: uuid.UUID,
    session_id: uuid.UUID | None,
    attempt: int,
    outcome: Outcome,
) -> bool | None:
    """End an execution (`runtime.executions.finish_many`), batched with the process's
    concurrent ends of the same tenant (`TenantBatches`). None when this attempt no longer
    owns the execution (nothing written); else whether a budget reservation is left to
    release (`ledger.budget.release`, a transaction of its own)."""
    return await _of_loop()[1].ask(tenant_id, (execution_id, attempt, session_id, outcome))
