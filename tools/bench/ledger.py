"""`ledger`: usage events published as fast as the broker takes them, entries counted in the DB.

Each event carries input and output tokens, so it becomes two entries. Event-to-entry
latency is the entry's `created_at` (stamped inside the ledger's transaction) minus the
event's `occurred_at` (stamped by the bench just before it publishes the event).
"""

from __future__ import annotations

import asyncio
import random  # token counts of fake usage, not secrets
import time
import uuid

import aio_pika
import asyncpg

from tools.bench.progress import Progress
from tools.bench.stats import summary

PUBLISHERS = 128
"""Publishes in flight at once (each waits for its publisher confirm)."""


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


async def _count(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> int:
    return await conn.fetchval("SELECT count(*) FROM ledger_entries WHERE tenant_id = $1", tenant_id)


async def run_ledger(
    env: dict[str, str], database_url: str, tenant_id: str, model: str, events: int, progress: Progress
) -> dict[str, object]:
    """Publish `events` UsageRecorded for one tenant; wait for 2 entries each."""
    from runtime.broker import build_broker, topology
    from runtime.messages import UsageRecorded
    from runtime.publishing import publish_usage
    from runtime.settings import load_settings

    settings = load_settings(env)
    topo = topology(settings.broker.prefix)
    await wait_drained(settings.broker.url, topo.usage.name)
    tenant = uuid.UUID(tenant_id)
    broker = build_broker(settings)
    await broker.connect()
    conn = await asyncpg.connect(database_url)
    try:
        before = await _count(conn, tenant)
        agent = uuid.uuid4()
        todo = iter(range(events))
        published = 0

        async def publisher() -> None:
            nonlocal published
            for _ in todo:
                event = UsageRecorded(
                    tenant_id=tenant,
                    execution_id=uuid.uuid4(),
                    agent_id=agent,
                    model=model,
                    provider="fake",
                    input_tokens=random.randint(50, 2000),  # noqa: S311
                    output_tokens=random.randint(10, 800),  # noqa: S311
                )
                await publish_usage(broker, topo, event)
                published += 1
                if published % 200 == 0:
                    progress.step(published, events)

        progress.phase(f"ledger: publishing {events} usage events")
        started = time.perf_counter()
        await asyncio.gather(*(publisher() for _ in range(PUBLISHERS)))
        publish_s = time.perf_counter() - started
        progress.phase("ledger: waiting for entries")
        expected = before + 2 * events
        deadline = time.monotonic() + max(60.0, events / 500)
        count = await _count(conn, tenant)
        while count < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            count = await _count(conn, tenant)
            progress.step(count - before, 2 * events)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.5)  # duplicates, if any, would show up now
        rows = await conn.fetch(
            "SELECT execution_id, EXTRACT(EPOCH FROM created_at - "
            "(entry_metadata::jsonb ->> 'occurred_at')::timestamptz) * 1000 AS ms "
            "FROM ledger_entries WHERE tenant_id = $1",
            tenant,
        )
    finally:
        await conn.close()
        await broker.stop()
    entries = len(rows) - before
    recorded = len({r["execution_id"] for r in rows})
    return {
        "events": events,
        "entries": entries,
        "events_recorded": recorded,
        "entries_equal_events": recorded == events and entries == 2 * events,
        "publish_s": round(publish_s, 3),
        "publish_per_s": round(events / publish_s, 1),
        "seconds": round(elapsed, 3),
        "entries_per_s": round(entries / elapsed, 1),
        "events_per_s": round(recorded / elapsed, 1),
        "event_to_entry_ms": summary([float(r["ms"]) for r in rows], (50, 90, 99)),
    }
