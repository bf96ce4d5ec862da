"""Live usage: one event per committed ledger entry, for dashboards (best effort).

Published after commit on the topic exchange `<prefix>hirebuddha.usage.live` with routing key
`usage.<tenant_id>`; the web process relays them to the usage WebSocket (docs/contract.md), leaving
out what the viewer may not see. The ledger table stays the record: a lost live event costs a
dashboard tick, never money, so this path has no publisher confirms and is not persistent.
"""

from __future__ import annotations

from collections.abc import Iterable

import aio_pika
from faststream.rabbit import RabbitBroker

from ledger.chain import Entry
from runtime.broker import Topology, usage_live_key
from runtime.messages import LiveUsage, encode
from runtime.publishing import JSON, STREAM_CHANNEL


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


class LivePublisher:
    """Publishes `LiveUsage` on the confirm-less channel shared with stream events."""

    def __init__(self, broker: RabbitBroker, topo: Topology) -> None:
        self._broker, self._topo = broker, topo
        self._exchange: aio_pika.abc.AbstractExchange | None = None

    async def publish(self, entries: Iterable[Entry]) -> None:
        """One event per entry, routed by tenant."""
        if self._exchange is None:
            channel = await self._broker.config.channel_manager.get_channel(STREAM_CHANNEL)
            self._exchange = await channel.get_exchange(self._topo.usage_live.name, ensure=False)
        for entry in entries:
            await self._exchange.publish(
                aio_pika.Message(
                    encode(live_usage(entry)),
                    content_type=JSON,
                    delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT,
                ),
                routing_key=usage_live_key(entry.tenant_id),
                mandatory=False,
            )
