"""`ledger`: a flood of usage events, then a paced stream at half the target rate.

Each event carries input and output tokens, so it becomes two entries. Event-to-entry
latency is the entry's `created_at` (stamped inside the ledger's write transaction, just
before its insert and commit) minus the event's `occurred_at` (stamped by the bench just
before it publishes the event).

- flood: `events` events published as fast as the broker confirms them; the ledger's own
  rate is its entries over the span of their `created_at` (first to last), which is what
  it sustains while a backlog lasts, whatever the publishers managed.
- paced: half the target entry rate (PACED_ENTRIES_PER_S), published on a schedule, not as a
  flood: the latency an event sees when the ledger keeps up.
- backlog (with the ledger's pid): the ledger is paused (SIGSTOP) while BACKLOG_EVENTS events
  are queued, then resumed: its drain rate and CPU per 1,000 entries with full batches, which
  the flood only measures when the publishers outrun the ledger (on a loaded machine they
  may not, and then the ledger writes small batches).

Events go out as an actors process sends them (`UsagePublisher`: the runtime's
`UsageBatcher` over a lean aiormq channel), and each phase reports the events per broker
message that gave.
"""

from __future__ import annotations

import asyncio
import collections
import os
import random  # token counts of fake usage, not secrets
import signal
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import aio_pika
import aiormq
import asyncpg

from tools.bench.progress import Progress
from tools.bench.stats import CpuMeter, summary

PUBLISHERS = 128
"""Flood: publishes in flight at once (each waits for its publisher confirm)."""
TARGET_ENTRIES_PER_S = 10_000
"""The ledger's sustained-rate goal (issue 11)."""
PACED_ENTRIES_PER_S = 5_000
"""Paced scenario: half the target, two entries per event."""
PACED_P99_GOAL_MS = 500.0
PACED_IN_FLIGHT = 512
BACKLOG_EVENTS = 10_000
"""Backlog: events queued while the ledger is paused (at most; half the flood if smaller).
Small enough that the pause stays well inside the AMQP heartbeat timeout."""
"""Paced: confirms awaited at once at most (the schedule never waits on one)."""


async def usage_backlog(amqp_url: str, queue: str) -> int:
    """Messages ready in the usage queue (not counting unacked ones)."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0
    finally:
        await connection.close()


async def wait_drained(amqp_url: str, queue: str, limit_s: float = 30) -> None:
    """Wait (bounded) until the ledger has taken every queued usage event."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if await usage_backlog(amqp_url, queue) == 0:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.3)  # the last batch's transaction


class UsagePublisher:
    """Publishes UsageRecorded to the usage queue as an actors process does: through the
    runtime's own `UsageBatcher` (events published while one message waits for its confirm
    share the next message), each message persistent, confirmed and mandatory like
    `runtime.publishing.publish_confirmed`'s, minus FastStream (the bench has no broker
    object). The bench's publishers share the machine with what they measure: a flood of
    single-event messages cost the bench and RabbitMQ about as much CPU as the ledger."""

    def __init__(self, amqp_url: str, queue: str) -> None:
        self.amqp_url, self.queue = amqp_url, queue

    async def __aenter__(self) -> UsagePublisher:
        from runtime.publishing import UsageBatcher

        self._connection = await aio_pika.connect(self.amqp_url)
        channel = await self._connection.channel(publisher_confirms=True)
        self._channel = await channel.get_underlay_channel()
        self._batcher = UsageBatcher(self._send, self.queue)
        self.messages = 0
        self.last: collections.deque[uuid.UUID] = collections.deque(maxlen=LAST_EVENTS)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.close()

    async def _send(self, body: bytes, queue: str, message_id: str, headers: dict[str, Any] | None) -> None:
        from runtime.publishing import JSON

        properties = aiormq.spec.Basic.Properties(
            content_type=JSON, delivery_mode=2, message_id=message_id, headers=headers
        )
        confirm = await self._channel.basic_publish(
            body, exchange="", routing_key=queue, properties=properties, mandatory=True
        )
        if not isinstance(confirm, aiormq.spec.Basic.Ack):
            raise RuntimeError(f"usage message not confirmed: {confirm!r}")
        self.messages += 1

    async def publish(self, event: Any) -> None:
        self.last.append(event.event_id)
        await self._batcher.publish(event)


def _event_maker(tenant: uuid.UUID, model: str) -> Callable[[], Any]:
    from runtime.messages import UsageRecorded

    agent = uuid.uuid4()

    def make() -> UsageRecorded:
        return UsageRecorded(
            tenant_id=tenant,
            execution_id=uuid.uuid4(),
            agent_id=agent,
            model=model,
            provider="fake",
            input_tokens=random.randint(50, 2000),  # noqa: S311
            output_tokens=random.randint(10, 800),  # noqa: S311
        )  # occurred_at: now, just before the publish

    return make


async def _count(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> int:
    return await conn.fetchval("SELECT count(*) FROM ledger_entries WHERE tenant_id = $1", tenant_id)


async def _now(conn: asyncpg.Connection) -> Any:
    return await conn.fetchval("SELECT clock_timestamp()")


LAST_EVENTS = 32
"""Events whose entries tell the wait that the ledger has reached the end of a phase."""


async def _wait_entries(
    conn: asyncpg.Connection,
    tenant: uuid.UUID,
    since: Any,
    todo: int,
    limit_s: float,
    progress: Progress,
    last: Iterable[uuid.UUID] = (),
) -> None:
    """Wait until the tenant has `todo` entries created at or after `since` (`_now` taken
    before the phase published anything).

    Every 0.1 s it looks up the entries of the `last` events published, by key (the ledger
    takes the queue in order, so they come last), and counts the phase's entries only once
    those are in, or every 2 s for the progress line: a count of the phase's entries every
    0.1 s read up to a million index rows a second at the end of a flood, and took
    PostgreSQL a third of a core away from the ledger it measures."""
    from ledger.service import entry_event_id

    keys = [entry_event_id(e, r) for e in last for r in ("input_tokens", "output_tokens")]

    async def count() -> int:
        return await conn.fetchval(
            "SELECT count(*) FROM ledger_entries WHERE tenant_id = $1 AND created_at >= $2", tenant, since
        )

    async def last_in() -> bool:
        found = await conn.fetchval(
            "SELECT count(*) FROM ledger_entries WHERE event_id = ANY($1::uuid[])", keys
        )
        return found == len(keys)

    deadline = time.monotonic() + limit_s
    counted_at = time.monotonic()
    done = await count()
    while done < todo and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        if await last_in() or time.monotonic() - counted_at >= 2:
            done, counted_at = await count(), time.monotonic()
            progress.step(done, todo)


async def _measure(conn: asyncpg.Connection, tenant: uuid.UUID, since: int, events: int) -> dict[str, Any]:
    """Entries of the tenant after the first `since` (in chain order): counts and latency."""
    rows = await conn.fetch(
        "SELECT execution_id, created_at, EXTRACT(EPOCH FROM created_at - "
        "(entry_metadata::jsonb ->> 'occurred_at')::timestamptz) * 1000 AS ms "
        "FROM ledger_entries WHERE tenant_id = $1 ORDER BY created_at OFFSET $2",
        tenant,
        since,
    )
    recorded = len({r["execution_id"] for r in rows})
    span = (rows[-1]["created_at"] - rows[0]["created_at"]).total_seconds() if len(rows) > 1 else 0.0
    return {
        "events": events,
        "entries": len(rows),
        "events_recorded": recorded,
        "entries_equal_events": recorded == events and len(rows) == 2 * events,
        "ledger_entries_per_s": round(len(rows) / span, 1) if span > 0 else None,
        "event_to_entry_ms": summary([float(r["ms"]) for r in rows], (50, 90, 99)),
    }


async def _flood(
    publisher: UsagePublisher, make: Callable[[], Any], events: int, progress: Progress
) -> tuple[float, float]:
    """Publish `events` with PUBLISHERS confirms in flight; (started, seconds publishing)."""
    todo = iter(range(events))
    published = 0

    async def one_publisher() -> None:
        nonlocal published
        for _ in todo:
            await publisher.publish(make())
            published += 1
            if published % 500 == 0:
                progress.step(published, events)

    started = time.perf_counter()
    await asyncio.gather(*(one_publisher() for _ in range(PUBLISHERS)))
    return started, time.perf_counter() - started


async def _paced(
    publisher: UsagePublisher, make: Callable[[], Any], events: int, rate: float, progress: Progress
) -> float:
    """Publish `events` at `rate` per second on a fixed schedule; returns seconds taken."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(PACED_IN_FLIGHT)
    pending: set[asyncio.Task[None]] = set()

    async def one() -> None:
        try:
            await publisher.publish(make())
        finally:
            gate.release()

    started = loop.time()
    for i in range(events):
        delay = started + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await gate.acquire()
        task = asyncio.create_task(one())
        pending.add(task)
        task.add_done_callback(pending.discard)
        if i % 500 == 0:
            progress.step(i, events)
    await asyncio.gather(*pending)
    return loop.time() - started


async def run_ledger(
    env: dict[str, str],
    database_url: str,
    tenant_id: str,
    model: str,
    events: int,
    progress: Progress,
    ledger_pid: int | None = None,
) -> dict[str, object]:
    """Flood `events` UsageRecorded for one tenant, then pace `events // 2` at half the target
    rate; wait for 2 entries each. The flood's figures stay at the top level; `paced` nests.

    With `ledger_pid`, the ledger process's CPU per 1,000 entries of the flood is reported too:
    the figure that load on the machine changes least.
    """
    from runtime.broker import topology
    from runtime.settings import load_settings

    settings = load_settings(env)
    queue = topology(settings.broker.prefix).usage.name
    await wait_drained(settings.broker.url, queue)
    tenant = uuid.UUID(tenant_id)
    make = _event_maker(tenant, model)
    conn = await asyncpg.connect(database_url)
    try:
        async with UsagePublisher(settings.broker.url, queue) as publisher:
            before = await _count(conn, tenant)
            meter = CpuMeter({"ledger": ledger_pid} if ledger_pid else {})
            since = await _now(conn)
            meter.start()
            progress.phase(f"ledger: flood of {events} usage events")
            started, publish_s = await _flood(publisher, make, events, progress)
            flood_messages = publisher.messages
            progress.phase("ledger: waiting for the flood's entries")
            await _wait_entries(
                conn, tenant, since, 2 * events, max(60.0, events / 500), progress, publisher.last
            )
            elapsed = time.perf_counter() - started
            cpu = meter.stop().get("ledger")
            await asyncio.sleep(0.5)  # duplicates, if any, would show up now
            flood = await _measure(conn, tenant, before, events)

            paced_events = max(events // 2, 1)
            rate = PACED_ENTRIES_PER_S / 2
            after = before + flood["entries"]
            progress.phase(f"ledger: {paced_events} events paced at {rate:g}/s")
            since = await _now(conn)
            paced_s = await _paced(publisher, make, paced_events, rate, progress)
            paced_messages = publisher.messages - flood_messages
            await _wait_entries(conn, tenant, since, 2 * paced_events, 60.0, progress, publisher.last)
            await asyncio.sleep(0.5)
            paced = await _measure(conn, tenant, after, paced_events)

            backlog: dict[str, Any] = {}
            if ledger_pid:
                after += paced["entries"]
                size = min(BACKLOG_EVENTS, max(events // 2, 1))
                backlog = await _backlog(publisher, make, size, ledger_pid, conn, tenant, after, progress)
    finally:
        await conn.close()
    return {
        **flood,
        "publish_s": round(publish_s, 3),
        "publish_per_s": round(events / publish_s, 1),
        "events_per_message": round(events / flood_messages, 1),
        "seconds": round(elapsed, 3),
        "entries_per_s": round(flood["entries"] / elapsed, 1),
        "events_per_s": round(flood["events_recorded"] / elapsed, 1),
        "ledger_cpu_s_per_1k_entries": round(cpu / flood["entries"] * 1000, 4)
        if cpu and flood["entries"]
        else None,
        "paced": {
            **paced,
            "target_entries_per_s": PACED_ENTRIES_PER_S,
            "publish_per_s": round(paced_events / paced_s, 1),
            "events_per_message": round(paced_events / paced_messages, 1),
        },
        "backlog": backlog,
    }


async def _backlog(
    publisher: UsagePublisher,
    make: Callable[[], Any],
    events: int,
    ledger_pid: int,
    conn: asyncpg.Connection,
    tenant: uuid.UUID,
    after: int,
    progress: Progress,
) -> dict[str, Any]:
    """Queue `events` while the ledger is stopped, resume it, time and meter the drain."""
    progress.phase(f"ledger: backlog of {events} events (ledger paused), then drained")
    since = await _now(conn)
    os.kill(ledger_pid, signal.SIGSTOP)
    try:
        await _flood(publisher, make, events, progress)
    finally:
        meter = CpuMeter({"ledger": ledger_pid})
        meter.start()
        started = time.perf_counter()
        os.kill(ledger_pid, signal.SIGCONT)
    await _wait_entries(conn, tenant, since, 2 * events, max(60.0, events / 200), progress, publisher.last)
    elapsed = time.perf_counter() - started
    cpu = meter.stop()["ledger"]
    measured = await _measure(conn, tenant, after, events)
    entries = measured["entries"]
    return {
        **measured,
        "drain_s": round(elapsed, 3),
        "drain_entries_per_s": round(entries / elapsed, 1) if elapsed > 0 else None,
        "ledger_cpu_s_per_1k_entries": round(cpu / entries * 1000, 4) if entries else None,
    }
