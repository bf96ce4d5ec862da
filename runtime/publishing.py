"""Publishing paths, chosen per message kind (docs/architecture.md "Pitfalls").

Executions, usage and dead letters go through the broker's default channel with publisher
confirms and persistent messages. Stream events (deltas) go through `StreamPublisher`: a
raw aio-pika channel without confirms, transient messages, no FastStream middleware, so a
token costs one frame and no round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime
import functools
import weakref
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aio_pika
import aiormq
from faststream.rabbit import Channel, RabbitBroker, RabbitMessage

from runtime import telemetry, trace
from runtime.broker import Topology, actor_address, execution_key, inbox_key, results_key, session_key
from runtime.messages import (
    BatchedDelta,
    ChannelReplyRequested,
    ControlMessage,
    DeltaBatch,
    DeltaEvent,
    DocumentIngest,
    ExecutionRequested,
    InboxChanged,
    JobResult,
    SessionEventBase,
    StreamEvent,
    UsageBatch,
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


class Unroutable(Exception):
    """The broker returned a mandatory message: no queue took it (it was not stored)."""


async def publish_confirmed(
    broker: RabbitBroker, body: bytes, queue: str, message_id: str, headers: dict[str, Any] | None = None
) -> None:
    """Publish one persistent JSON message to `queue` (default exchange) on the broker's
    confirmed channel and wait for the broker's ack; raise when it is not stored.

    The hot paths' publish (an execution per chat message, a usage event per LLM call)
    straight over aiormq: FastStream's `broker.publish` builds an aio-pika `Message` through
    its encoder and middleware and costs ~200 us of CPU a call against ~120 us for the same
    confirmed publish here (README "Performance"). Mandatory, and stricter than that path: a
    message no queue takes raises `Unroutable` instead of passing for sent.
    """
    channel = await broker.config.channel_manager.get_channel()  # the confirmed default
    if channel.is_closed:
        raise aiormq.exceptions.ChannelInvalidStateError(f"{channel!r} closed")
    underlay = await channel.get_underlay_channel()
    result = await underlay.basic_publish(
        body,
        exchange="",
        routing_key=queue,
        properties=aiormq.spec.Basic.Properties(
            content_type=JSON,
            delivery_mode=2,
            message_id=message_id,
            headers=headers or None,
            timestamp=datetime.datetime.now(datetime.UTC),
        ),
        mandatory=True,
    )
    if not isinstance(result, aiormq.spec.Basic.Ack):  # a Basic.Return (Nack raises in aiormq)
        raise Unroutable(f"no queue took the message {message_id} sent to {queue!r}")


async def publish_execution(
    broker: RabbitBroker, topo: Topology, request: ExecutionRequested, tier: str | None = None
) -> None:
    """Queue an execution on its tenant tier's lane: persistent, confirmed (with the trace
    context in its headers when tracing is on)."""
    queue = topo.lane(tier).name
    with telemetry.span("amqp.publish", attributes={"messaging.destination.name": queue}):
        await publish_confirmed(
            broker, encode(request), queue, f"{request.execution_id}:{request.attempt}", telemetry.inject()
        )


async def publish_usage(broker: RabbitBroker, topo: Topology, event: UsageRecorded) -> None:
    """Queue a usage event for the ledger: persistent, confirmed, through the process's
    `UsageBatcher` (returns once the message holding it is confirmed; with the trace context
    of this publish when tracing is on)."""
    batcher = _usage_batchers.get(broker)
    if batcher is None or batcher.queue != topo.usage.name:
        batcher = _usage_batchers[broker] = UsageBatcher(
            functools.partial(publish_confirmed, broker), topo.usage.name
        )
    with telemetry.span("amqp.publish", attributes={"messaging.destination.name": topo.usage.name}):
        await batcher.publish(event, telemetry.inject())


Send = Callable[[bytes, str, str, "dict[str, Any] | None"], Awaitable[None]]
"""`publish_confirmed` without its broker: (body, queue, message_id, headers)."""


class UsageBatcher:
    """Group commit for usage events (docs/architecture.md "Usage events in batches").

    An event published while nothing is in flight goes out at once, alone, exactly as a
    `UsageRecorded` message; events published while a usage message waits for its confirm
    are held and go out together, as ONE `UsageBatch` message, when it is confirmed. Each
    caller returns when the message holding its event is confirmed, or raises what that
    publish raised. Idle, nothing waits; under load, a broker message and its confirm carry
    up to `MAX_EVENTS` events instead of one, which is most of the cost of an event to
    RabbitMQ (a quorum queue's append and confirm per message) and to the ledger (an AMQP
    delivery). One in flight per process keeps events in the order they were published.
    """

    MAX_EVENTS = 100

    def __init__(self, send: Send, queue: str) -> None:
        self.send, self.queue = send, queue
        self._waiting: list[tuple[UsageRecorded, dict[str, Any] | None, asyncio.Future[None]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def publish(self, event: UsageRecorded, trace: dict[str, Any] | None = None) -> None:
        """Queue `event` and wait for the confirm of the message that carries it."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((event, trace, done))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_all())
        await done

    async def _send_all(self) -> None:
        while self._waiting:
            batch = self._waiting[: self.MAX_EVENTS]
            del self._waiting[: self.MAX_EVENTS]
            try:
                if len(batch) == 1:
                    event, trace, _ = batch[0]
                    await self.send(encode(event), self.queue, str(event.event_id), trace)
                else:
                    events = [event for event, _, _ in batch]
                    traces = [trace for _, trace, _ in batch]
                    body = encode(UsageBatch(events=events, traces=traces if any(traces) else []))
                    await self.send(body, self.queue, f"usage-batch:{events[0].event_id}", None)
            except Exception as exc:
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            except BaseException:  # cancelled (shutdown): nobody will send what is left
                for _, _, done in batch + self._waiting:
                    done.cancel()
                self._waiting.clear()
                raise
            else:
                for _, _, done in batch:
                    if not done.done():
                        done.set_result(None)


_usage_batchers: weakref.WeakKeyDictionary[RabbitBroker, UsageBatcher] = weakref.WeakKeyDictionary()


async def publish_control(broker: RabbitBroker, topo: Topology, message: ControlMessage) -> None:
    """Send a control message to every actors process; the one running its execution takes it."""
    await broker.publish(
        encode(message),
        exchange=topo.control_all,
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


async def publish_ingest(broker: RabbitBroker, topo: Topology, request: DocumentIngest) -> None:
    """Queue a document's ingestion: persistent, confirmed."""
    await broker.publish(
        encode(request),
        topo.documents.name,
        persist=True,
        content_type=JSON,
        message_id=f"ingest:{request.document_id}",
    )


async def publish_webhook(broker: RabbitBroker, topo: Topology, request: WebhookRequested) -> None:
    """Queue a webhook delivery: persistent, confirmed."""
    await broker.publish(
        encode(request),
        topo.webhooks.name,
        persist=True,
        content_type=JSON,
        message_id=f"webhook:{request.execution_id}",
    )


async def publish_channel_reply(broker: RabbitBroker, topo: Topology, request: ChannelReplyRequested) -> None:
    """Queue a channel reply (Telegram, WhatsApp): persistent, confirmed."""
    await broker.publish(
        encode(request),
        topo.channel_replies.name,
        persist=True,
        content_type=JSON,
        message_id=f"channel-reply:{request.execution_id}",
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


DELTA_BATCH_KEY = "deltas.batch"
"""Routing key of `DeltaBatch` messages on the streams exchange; every web relay binds it."""

_collector: contextvars.ContextVar[DeltaCollector | None] = contextvars.ContextVar(
    "delta_collector", default=None
)


class DeltaCollector:
    """Deltas handed to `StreamPublisher.publish` inside `collecting_deltas()`, per publisher."""

    def __init__(self) -> None:
        self.batches: dict[StreamPublisher, list[BatchedDelta]] = {}

    def add(self, publisher: StreamPublisher, event: DeltaEvent) -> None:
        assert event.session_id is not None
        delta = BatchedDelta(event.session_id, event.execution_id, event.seq, event.text)
        self.batches.setdefault(publisher, []).append(delta)

    async def publish(self) -> None:
        """One broker message per publisher (in practice: per process)."""
        for publisher, events in self.batches.items():
            await publisher.publish_batch(events)
        self.batches.clear()


@contextlib.contextmanager
def collecting_deltas() -> Iterator[DeltaCollector]:
    """Within this block (of the current task), session deltas are collected, not sent.

    The actors' flush tick collects the deltas of every stream due in one tick and sends
    them as one `DeltaBatch`, so 1,000 streams cost ~70 broker messages a second, not 50,000.
    """
    collector = DeltaCollector()
    token = _collector.set(collector)
    try:
        yield collector
    finally:
        _collector.reset(token)


class StreamPublisher:
    """Cheap publishing of stream events: own channel, no confirms, not persistent.

    Every write goes through one FIFO lock, so events leave in the order `publish` and
    `publish_batch` were called: a session's deltas, batched or not, and its final event
    reach a relay queue in seq order (one channel, one queue: RabbitMQ keeps that order).
    """

    def __init__(self, broker: RabbitBroker, topo: Topology) -> None:
        self._broker, self._topo = broker, topo
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._order = asyncio.Lock()

    async def start(self) -> None:
        """Open the confirm-less channel (the broker must be connected)."""
        self._channel = await self._broker.config.channel_manager.get_channel(STREAM_CHANNEL)

    async def publish(self, event: StreamEvent) -> None:
        """Route by session when there is one, else by execution."""
        collector = _collector.get()
        if collector is not None and isinstance(event, DeltaEvent) and event.session_id is not None:
            collector.add(self, event)
            return
        key = (
            session_key(event.session_id)
            if event.session_id is not None
            else execution_key(event.execution_id)
        )
        await self._send(encode(event), key)
        if trace.ENABLED and isinstance(event, DeltaEvent) and event.seq == 1:
            trace.mark(event.execution_id, "delta_published")

    async def publish_session(self, event: SessionEventBase | InboxChanged) -> None:
        """A session event to the session's sockets, or an inbox change to the tenant's
        inbox sockets (docs/human-in-the-loop.md), in the same order as stream events."""
        if isinstance(event, InboxChanged):
            await self._send(encode(event), inbox_key(event.tenant_id))
        else:
            await self._send(encode(event), session_key(event.session_id))

    async def publish_batch(self, deltas: list[BatchedDelta]) -> None:
        """Session deltas of several executions in one message, to every web relay."""
        if len(deltas) == 1:
            await self._send(encode(deltas[0].event()), session_key(deltas[0].session_id))
        elif deltas:
            await self._send(encode(DeltaBatch(deltas=deltas)), DELTA_BATCH_KEY)

    async def _send(self, body: bytes, key: str) -> None:
        async with self._order:
            if self._channel is None:
                await self.start()
            assert self._channel is not None
            channel = await self._channel.get_underlay_channel()
            # wait=False: queue the frames on the connection's writer and go on. Waiting for
            # each publish to be drained to the socket (aio-pika's `Exchange.publish`) made
            # every delta wait out a socket flush; under load first deltas queued for seconds
            # behind each other (trace stage `delta publish`, issue 11). The writer's queue is
            # bounded, so a slow broker still pushes back; order is the queue's order. (`wait`
            # is a parameter of aiormq's Channel, missing from its abstract type.)
            await channel.basic_publish(  # type: ignore[call-arg]
                body,
                exchange=self._topo.streams.name,
                routing_key=key,
                properties=aiormq.spec.Basic.Properties(content_type=JSON, delivery_mode=1),
                mandatory=False,
                wait=False,
            )
