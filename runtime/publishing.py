"""Publishing paths, chosen per message kind (docs/architecture.md "Pitfalls").

Executions, usage and dead letters go through the broker's default channel with publisher
confirms and persistent messages. Stream events (deltas) go through `StreamPublisher`: a
raw aio-pika channel without confirms, transient messages, no FastStream middleware, so a
token costs one frame and no round trip.
"""

from __future__ import annotations

from typing import Any

import aio_pika
from faststream.rabbit import Channel, RabbitBroker, RabbitMessage

from runtime.broker import Topology, actor_address, execution_key, results_key, session_key
from runtime.messages import (
    ControlMessage,
    ExecutionRequested,
    JobResult,
    StreamEvent,
    UsageRecorded,
    WebhookRequested,
    encode,
)

JSON = "application/json"
REASON_HEADER = "x-hb-reason"
"""Why we dead-lettered a message (set by `dead_letter`)."""
PUBLIC_REASON_HEADER = "x-reason"
"""The same reason under the name external systems read (docs/contract.md "AMQP")."""
SOURCE_HEADER = "x-hb-source-queue"
SOURCE_EXCHANGE_HEADER = "x-hb-source-exchange"
STREAM_CHANNEL = Channel(publisher_confirms=False)
"""The confirm-less channel of stream events (one per connection: the channel manager
caches channels by the identity of this object)."""


async def publish_execution(
    broker: RabbitBroker, topo: Topology, request: ExecutionRequested, tier: str | None = None
) -> None:
    """Queue an execution on its tenant tier's lane: persistent, confirmed."""
    await broker.publish(
        encode(request),
        topo.lane(tier).name,
        persist=True,
        content_type=JSON,
        message_id=f"{request.execution_id}:{request.attempt}",
    )


async def publish_usage(broker: RabbitBroker, topo: Topology, event: UsageRecorded) -> None:
    """Queue a usage event for the ledger: persistent, confirmed, id = event id."""
    await broker.publish(
        encode(event),
        topo.usage.name,
        persist=True,
        content_type=JSON,
        message_id=str(event.event_id),
    )


async def publish_control(broker: RabbitBroker, topo: Topology, message: ControlMessage) -> None:
    """Send a control message to the actor of its execution (dropped if none is bound)."""
    await broker.publish(
        encode(message),
        exchange=topo.control,
        routing_key=actor_address(message.execution_id),
        mandatory=False,
        content_type=JSON,
    )


async def publish_result(
    broker: RabbitBroker, topo: Topology, tenant_id: object, result: JobResult, reply_to: str | None
) -> None:
    """Send a job result to `reply_to` (default exchange) and to `tenant.<tenant_id>`.

    Persistent and confirmed. Not mandatory: a reply queue that is gone, or a results
    exchange nobody binds, must not fail the execution that produced the result.
    """
    body = encode(result)
    options = {
        "persist": True,
        "mandatory": False,
        "content_type": JSON,
        "correlation_id": result.correlation_id,
    }
    if reply_to:
        await broker.publish(body, routing_key=reply_to, **options)  # type: ignore[arg-type]
    await broker.publish(body, exchange=topo.results, routing_key=results_key(tenant_id), **options)  # type: ignore[arg-type]


async def publish_webhook(broker: RabbitBroker, topo: Topology, request: WebhookRequested) -> None:
    """Queue a webhook delivery: persistent, confirmed."""
    await broker.publish(
        encode(request),
        topo.webhooks.name,
        persist=True,
        content_type=JSON,
        message_id=f"webhook:{request.execution_id}",
    )


async def dead_letter(
    broker: RabbitBroker,
    topo: Topology,
    message: RabbitMessage,
    reason: str,
    extra_headers: dict[str, str] | None = None,
) -> None:
    """Move a consumed message to the dead-letter queue with `reason`, then ack it.

    Published (confirmed) before the ack, so a crash in between duplicates the dead letter
    rather than losing the message.
    """
    raw = message.raw_message
    headers: dict[str, Any] = {
        **(raw.headers or {}),
        **(extra_headers or {}),
        REASON_HEADER: reason[:1000],
        PUBLIC_REASON_HEADER: reason[:1000],
        SOURCE_HEADER: raw.routing_key or "",
        SOURCE_EXCHANGE_HEADER: raw.exchange or "",
    }
    await broker.publish(
        raw.body,
        exchange=topo.dlx,
        routing_key=raw.routing_key or "",
        headers=headers,
        persist=True,
        content_type=raw.content_type,
        message_id=raw.message_id,
        correlation_id=raw.correlation_id,
    )
    await message.ack()


class StreamPublisher:
    """Cheap publishing of stream events: own channel, no confirms, not persistent."""

    def __init__(self, broker: RabbitBroker, topo: Topology) -> None:
        self._broker, self._topo = broker, topo
        self._exchange: aio_pika.abc.AbstractExchange | None = None

    async def start(self) -> None:
        """Open the confirm-less channel (the broker must be connected)."""
        channel = await self._broker.config.channel_manager.get_channel(STREAM_CHANNEL)
        self._exchange = await channel.get_exchange(self._topo.streams.name, ensure=False)

    async def publish(self, event: StreamEvent) -> None:
        """Route by session when there is one, else by execution."""
        if self._exchange is None:
            await self.start()
        assert self._exchange is not None
        key = (
            session_key(event.session_id)
            if event.session_id is not None
            else execution_key(event.execution_id)
        )
        await self._exchange.publish(
            aio_pika.Message(
                encode(event), content_type=JSON, delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT
            ),
            routing_key=key,
            mandatory=False,
        )
