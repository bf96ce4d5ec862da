"""One relay per web process: stream events from the actors to this process's sockets.

One exclusive, auto-delete queue on the streams exchange; `session.<id>` is bound while at
least one socket of that session is open here and unbound when the last one leaves. The
same queue receives the live actors' answers to snapshot requests (`reply_to`), matched by
correlation id.

A socket never blocks the relay: `deliver` only enqueues (see `ChatConnection.deliver`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Protocol

import aio_pika
import aiormq
import msgspec

from runtime import trace
from runtime.broker import Topology, connect_robust, execution_key, inbox_key, session_key
from runtime.messages import (
    BatchedDelta,
    DeltaBatch,
    DeltaEvent,
    InboxChanged,
    RelayMessage,
    SessionEventBase,
    Snapshot,
    StreamEvent,
    decode,
)
from runtime.publishing import DELTA_BATCH_KEY
from web.chat.protocol import Delta, ServerFrame, frame_of
from web.executions.bus import Bus

Relayed = StreamEvent | SessionEventBase | InboxChanged
"""What the relay hands a sink: a session's stream and session events, a tenant's inbox changes."""

log = logging.getLogger("hirebuddha.web")

_delta_json = msgspec.json.Encoder().encode

BIND_TIMEOUT_S = 5.0
"""How long a socket waits for its session's binding before it is told the service is unavailable."""


class Sink(Protocol):
    """A subscriber of the events routed by a key (a chat socket, an inbox socket)."""

    def deliver(self, event: Relayed, frame: ServerFrame) -> None:
        """Take one event without waiting."""
        ...


class SessionSink(Sink, Protocol):
    """A subscriber of one session's events (a chat socket)."""

    def deliver_delta(self, delta: BatchedDelta, data: bytes) -> None:
        """Take one delta of a `DeltaBatch` without waiting; `data` is its frame's JSON."""
        ...


class Relay:
    """The process's stream queue, its bindings, and the snapshot RPC."""

    def __init__(self, url: str, topo: Topology) -> None:
        self._url, self._topo = url, topo
        self._sinks: dict[str, set[Sink]] = {}
        """Sinks per routing key (`session.<id>`, `inbox.<tenant>`)."""
        self._sessions: dict[uuid.UUID, set[SessionSink]] = {}
        """The same sets of the `session.<id>` keys, by session id (`DeltaBatch` deliveries)."""
        self._pending: dict[str, asyncio.Future[Snapshot]] = {}
        # Binding and unbinding are broker round trips; one lock keeps "first socket binds,
        # last socket unbinds" exact when sockets of one session come and go together.
        self._lock = asyncio.Lock()
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._channel: aio_pika.abc.AbstractRobustChannel | None = None
        self._queue: aio_pika.abc.AbstractQueue | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None

    async def start(self) -> None:
        """Connect, declare the exclusive queue and consume it."""
        self._connection = await connect_robust(self._url)
        channel = self._channel = await self._connection.channel()
        self._exchange = await channel.get_exchange(self._topo.streams.name)
        # Our own name, not a server-named one: after a broker restart the robust channel
        # re-declares the queue by name, and RabbitMQ refuses client declarations of the
        # reserved "amq.gen-..." names, which left the relay's channel closed for good
        # (tests/test_faults_broker.py).
        name = f"{self._topo.streams.name}.relay.{uuid.uuid4().hex}"
        self._queue = await channel.declare_queue(name, exclusive=True, auto_delete=True)
        # Every actors process sends the deltas of one flush tick as one `DeltaBatch`
        # addressed to all relays; each relay keeps the ones of its own sessions.
        await self._queue.bind(self._exchange, routing_key=DELTA_BATCH_KEY)
        await self._consume()
        # After a broker restart the robust channel re-declares the queue and its bindings,
        # then calls this: the consumer is ours to restore (it is not aio-pika's, below).
        channel.reopen_callbacks.add(self._on_reopen)

    async def _consume(self) -> None:
        """Consume the queue over aiormq directly: aio-pika's `Queue.consume` wraps every
        delivery in an `IncomingMessage` (some 25 attribute writes) and a second task, the
        relay's largest cost per message after the socket writes (README "Performance")."""
        assert self._channel is not None and self._queue is not None
        underlay = await self._channel.get_underlay_channel()
        await underlay.basic_consume(self._queue.name, self._on_delivery, no_ack=True)

    async def _on_reopen(self, _channel: object) -> None:
        try:
            await self._consume()
        except Exception:  # the connection went again: the next reopen consumes
            log.exception("the relay could not consume its queue again after a reconnection")

    async def close(self) -> None:
        """Disconnect (the queue and its bindings go away with it)."""
        if self._connection is not None:
            await self._connection.close()

    async def subscribe(self, session_id: uuid.UUID, sink: SessionSink) -> None:
        """Deliver `session_id`'s events to `sink` from now on."""
        await self.subscribe_key(session_key(session_id), sink, session_id)

    async def unsubscribe(self, session_id: uuid.UUID, sink: SessionSink) -> None:
        """Stop delivering `session_id`'s events to `sink`."""
        await self.unsubscribe_key(session_key(session_id), sink, session_id)

    async def subscribe_key(self, key: str, sink: Sink, session_id: uuid.UUID | None = None) -> None:
        """Deliver the events routed by `key` to `sink` from now on (`session_id`: the key's
        session, whose `DeltaBatch` deltas the sink then takes too)."""
        assert self._queue is not None and self._exchange is not None
        async with self._lock:
            sinks = self._sinks.setdefault(key, set())
            if not sinks:
                # Bounded: with the broker down a bind waits for the reconnection without end,
                # holding this lock and leaving the socket with no answer (TimeoutError here
                # becomes an `unavailable` error frame; tests/test_faults_broker.py).
                async with asyncio.timeout(BIND_TIMEOUT_S):
                    await self._queue.bind(self._exchange, routing_key=key)
            sinks.add(sink)
            if session_id is not None:
                self._sessions[session_id] = sinks  # type: ignore[assignment]  # SessionSinks only

    async def unsubscribe_key(self, key: str, sink: Sink, session_id: uuid.UUID | None = None) -> None:
        """Stop delivering to `sink`; unbind `key` when it was the last one."""
        assert self._queue is not None and self._exchange is not None
        async with self._lock:
            sinks = self._sinks.get(key)
            if sinks is None or sink not in sinks:
                return
            sinks.discard(sink)
            if not sinks:
                del self._sinks[key]
                if session_id is not None:
                    self._sessions.pop(session_id, None)
                # Best effort while the broker is down: a stale binding only feeds events to
                # no sink, and the exclusive queue goes away with the connection anyway.
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(BIND_TIMEOUT_S):
                        await self._queue.unbind(self._exchange, routing_key=key)

    async def snapshot(
        self, bus: Bus, execution_id: uuid.UUID, after_seq: int, wait_s: float
    ) -> Snapshot | None:
        """The live actor's deltas after `after_seq`; None when no actor answered in time."""
        assert self._queue is not None
        correlation = uuid.uuid4().hex
        future: asyncio.Future[Snapshot] = asyncio.get_running_loop().create_future()
        self._pending[correlation] = future
        try:
            await bus.request_snapshot(execution_id, after_seq, self._queue.name, correlation)
            return await asyncio.wait_for(future, wait_s)
        except TimeoutError:
            return None
        finally:
            self._pending.pop(correlation, None)

    async def _on_delivery(self, message: aiormq.abc.DeliveredMessage) -> None:
        correlation = message.header.properties.correlation_id
        future = self._pending.get(correlation) if correlation else None
        try:
            if future is not None:
                if not future.done():
                    future.set_result(decode(message.body, Snapshot))
                return
            decoded = decode(message.body, RelayMessage)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("relay dropped a malformed message: %s", exc)
            return
        if isinstance(decoded, DeltaBatch):
            for event in decoded.events:  # the earlier form (an actors process not yet updated)
                self._deliver(event)
            self._deliver_deltas(decoded.deltas)
        else:
            self._deliver(decoded)

    def _deliver_deltas(self, deltas: list[BatchedDelta]) -> None:
        """A batch's deltas to their sessions' sockets: each frame's JSON encoded once here
        and queued on its sockets, which write it with their other frames of this pass
        (`web.chat.connection.Flush`); no event or frame object per delta."""
        sessions = self._sessions
        for delta in deltas:
            sinks = sessions.get(delta.session_id)
            if not sinks:
                continue
            if trace.ENABLED and delta.seq == 1:
                trace.mark(delta.execution_id, "relayed")
            data = _delta_json(Delta(delta.execution_id, delta.seq, delta.text))
            # Iterated as is: `deliver_delta` never (un)subscribes, it only queues.
            for sink in sinks:
                sink.deliver_delta(delta, data)

    def _deliver(self, event: Relayed) -> None:
        if isinstance(event, InboxChanged):
            key = inbox_key(event.tenant_id)
        elif event.session_id is not None:
            key = session_key(event.session_id)
        else:  # a session-less execution some socket listens to (a co-pilot draft)
            key = execution_key(event.execution_id)
        sinks = self._sinks.get(key)
        if not sinks:
            return
        if trace.ENABLED and isinstance(event, DeltaEvent) and event.seq == 1:
            trace.mark(event.execution_id, "relayed")
        frame = frame_of(event)  # built once, shared by every socket of the session
        for sink in list(sinks):
            sink.deliver(event, frame)
