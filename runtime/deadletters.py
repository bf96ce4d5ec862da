"""Dead letters: kept in PostgreSQL with their reason, listed for the app admin, re-driven on demand.

Two roads lead here: our consumers refuse a message on purpose (`publishing.dead_letter`,
which adds `x-hb-reason` and the source exchange/routing key), or RabbitMQ dead-letters it
(delivery limit reached, rejected), which it records in `x-death`. The sink reads both.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from runtime import db
from runtime.publishing import REASON_HEADER, SOURCE_EXCHANGE_HEADER, SOURCE_HEADER
from runtime.tables import DeadLetter

TENANT_HEADER = "x-hb-tenant-id"
_OURS = (
    REASON_HEADER,
    SOURCE_HEADER,
    SOURCE_EXCHANGE_HEADER,
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
    "x-delivery-count",
)


def _plain(value: Any) -> Any:
    """Header values as JSON-friendly data (AMQP tables hold bytes and datetimes)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def describe(message: AbstractIncomingMessage) -> dict[str, Any]:
    """Reason and origin of a dead-lettered message."""
    headers = _plain(dict(message.headers or {}))
    deaths = headers.get("x-death") or []
    death = deaths[0] if deaths and isinstance(deaths[0], dict) else {}
    reason = headers.get(REASON_HEADER) or (
        f"{death.get('reason', 'unknown')} in queue {death.get('queue', '?')}" if death else "unknown"
    )
    keys = death.get("routing-keys") or [message.routing_key or ""]
    exchange = headers.get(SOURCE_EXCHANGE_HEADER, death.get("exchange", message.exchange or ""))
    tenant = headers.get(TENANT_HEADER)
    return {
        "reason": str(reason)[:2000],
        "source_exchange": str(exchange),
        "routing_key": str(headers.get(SOURCE_HEADER) or keys[0]),
        "headers": headers,
        "tenant_id": _uuid(tenant),
    }


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


async def store(message: AbstractIncomingMessage) -> uuid.UUID:
    """Persist one dead letter (the caller acks after this returns)."""
    row = DeadLetter(
        body=message.body,
        content_type=message.content_type,
        correlation_id=message.correlation_id,
        **describe(message),
    )
    async with db.scope(system=True):  # platform-level record, read only by the app admin
        await DeadLetter.insert(row)
    return row.id


async def sink(queue: AbstractQueue) -> None:
    """Drain the dead-letter queue into the table; ack only after the row is committed."""
    async with queue.iterator() as messages:
        async for message in messages:
            await store(message)
            await message.ack()


async def redrive(channel: AbstractChannel, dead_letter_id: uuid.UUID) -> dict[str, Any] | None:
    """Publish a stored dead letter again where it first went; None when there is no such id."""
    async with db.scope(system=True):
        row = await DeadLetter.select().where(DeadLetter.id == dead_letter_id).first().output(load_json=True)
        if row is None:
            return None
        headers = {k: v for k, v in (row["headers"] or {}).items() if k not in _OURS}
        headers["x-hb-redriven"] = int(row["retry_count"]) + 1
        exchange = (
            await channel.get_exchange(row["source_exchange"], ensure=False)
            if row["source_exchange"]
            else channel.default_exchange
        )
        await exchange.publish(
            aio_pika.Message(
                bytes(row["body"]),
                headers=headers,
                content_type=row["content_type"],
                correlation_id=row["correlation_id"],
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=row["routing_key"],
        )
        now = dt.datetime.now(dt.UTC)
        await DeadLetter.update(
            {DeadLetter.retried_at: now, DeadLetter.retry_count: DeadLetter.retry_count + 1}
        ).where(DeadLetter.id == dead_letter_id)
        return {**row, "retried_at": now, "retry_count": row["retry_count"] + 1}
