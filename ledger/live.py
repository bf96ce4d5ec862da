"""Live usage: the committed ledger entries, for dashboards (best effort).

Published after commit on the topic exchange `<prefix>hirebuddha.usage.live` with routing key
`usage.<tenant_id>`: one `LiveUsageBatch` message per tenant per commit (at most
`MAX_ENTRIES` entries each, in chain order) rather than one message per entry, since one
AMQP publish per entry was about a third of the ledger's CPU under a flood. The web process
relays each entry to the usage WebSocket as its own `usage` frame (docs/contract.md), leaving
out what the viewer may not see. The ledger table stays the record: a lost live event costs
a dashboard tick, never money, so this path has no publisher confirms and is not persistent.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import aio_pika
from faststream.rabbit import RabbitBroker

from ledger.chain import Entry
from runtime.broker import Topology, usage_live_key
from runtime.messages import LiveUsage, LiveUsageBatch, encode
from runtime.publishing import JSON, STREAM_CHANNEL

MAX_ENTRIES = 256
"""Entries per live message at most (a commit of more goes out as several)."""


def live_usage(entry: Entry) -> LiveUsage:
    """The live event of a stored entry."""
    return LiveUsage(
        entry_id=entry.id,
        tenant_id=entry.tenant_id,
        partner_id=entry.partner_id,
        execution_id=entry.execution_id,
        model=entry.model,
        resource_type=entry.resource_type,
        quantity=entry.quantity,
        unit=entry.unit,
        platform_cost=entry.platform_cost,
        tenant_cost=entry.tenant_cost,
        partner_commission=entry.partner_commission,
        reverses_id=entry.reverses_id,
        at=entry.created_at,
    )


def live_batches(entries: Iterable[Entry]) -> list[LiveUsageBatch]:
    """The live messages of committed entries: per tenant, in order, `MAX_ENTRIES` at most."""
    by_tenant: dict[UUID, list[LiveUsage]] = {}
    for entry in entries:
        by_tenant.setdefault(entry.tenant_id, []).append(live_usage(entry))
    return [
        LiveUsageBatch(tenant_id=tenant, entries=events[i : i + MAX_ENTRIES])
        for tenant, events in by_tenant.items()
        for i in range(0, len(events), MAX_ENTRIES)
    ]


class LivePublisher:
    """Publishes live usage on the confirm-less channel shared with stream events."""

    def __init__(self, broker: RabbitBroker, topo: Topology) -> None:
        self._broker, self._topo = broker, topo
        self._exchange: aio_pika.abc.AbstractExchange | None = None

    async def publish(self, entries: Iterable[Entry]) -> None:
        """One `LiveUsageBatch` per tenant of `entries` (per `MAX_ENTRIES`), routed by tenant."""
        if self._exchange is None:
            channel = await self._broker.config.channel_manager.get_channel(STREAM_CHANNEL)
            self._exchange = await channel.get_exchange(self._topo.usage_live.name, ensure=False)
        for batch in live_batches(entries):
            await self._exchange.publish(
                aio_pika.Message(
                    encode(batch),
                    content_type=JSON,
                    delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT,
                ),
                routing_key=usage_live_key(batch.tenant_id),
                mandatory=False,
            )
