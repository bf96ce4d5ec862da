"""The process's control inbox: one exclusive queue on the control exchange.

An actor's address `actor.<execution_id>` is bound to it while the actor lives, so a cancel
or a snapshot request reaches that actor and only it, in whichever process it runs.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

import aio_pika
import aiormq
import msgspec

from runtime.broker import Topology, actor_address
from runtime.messages import ControlMessage, SnapshotRequest, decode, encode
from runtime.registry import ActorRegistry
from runtime.supervision import ActorDeadError

log = logging.getLogger("hirebuddha.actors")

BIND_TIMEOUT_S = 10.0
"""How long a bind waits for the inbox's channel to be restored after a broker reconnect."""


class ControlInbox:
    """Binds and unbinds actor addresses; hands control messages to the actors."""

    def __init__(
        self, connection: aio_pika.abc.AbstractConnection, topo: Topology, registry: ActorRegistry
    ) -> None:
        self._connection, self._topo, self._registry = connection, topo, registry
        self._queue: aio_pika.abc.AbstractQueue | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None

    async def start(self) -> None:
        """Declare the exclusive queue and start consuming."""
        self._channel = await self._connection.channel()
        self._exchange = await self._channel.get_exchange(self._topo.control.name)
        # Our own name (traceable in the management UI). The robust channel re-declares the
        # queue and re-binds every bound address after a broker restart.
        name = f"{self._topo.control.name}.inbox.{uuid.uuid4().hex}"
        self._queue = await self._channel.declare_queue(name, exclusive=True, auto_delete=True)
        await self._queue.consume(self._on_message, no_ack=True)

    async def bind(self, address: str) -> None:
        """Route `address` here (before the actor may become visible as running).

        Raises (TimeoutError, AMQP errors) when the broker is not back within BIND_TIMEOUT_S.
        """
        assert self._queue is not None and self._exchange is not None
        queue, exchange = self._queue, self._exchange
        await self._when_ready(lambda: queue.bind(exchange, routing_key=address))

    async def unbind(self, address: str) -> None:
        """Stop routing `address` here (the actor has stopped)."""
        assert self._queue is not None and self._exchange is not None and self._channel is not None
        if self._channel.is_closed:
            # The connection died: the exclusive queue went with its bindings. Only make sure
            # the robust queue does not bind `address` again when it is restored (after the
            # reconnect a new actor for the same execution may own it). No broker round trip:
            # waiting for the reconnect here held the execution's slot for seconds.
            self._forget(address)
            return
        try:
            async with asyncio.timeout(BIND_TIMEOUT_S):
                await self._queue.unbind(self._exchange, routing_key=address)
        except aiormq.exceptions.ChannelInvalidStateError:
            self._forget(address)  # it closed under us: same as above

    def _forget(self, address: str) -> None:
        # aio-pika's RobustQueue keeps the bindings it restores after a reconnect in
        # `_bindings`, keyed by (exchange, routing key); `unbind` only drops one once the
        # broker confirmed it.
        bindings = getattr(self._queue, "_bindings", None)
        if isinstance(bindings, dict):
            for key in [key for key in bindings if key[1] == address]:
                bindings.pop(key, None)

    async def _when_ready(self, operation: Callable[[], Awaitable[object]]) -> None:
        # After a reconnect the execution lanes' consumers may be restored (and deliver)
        # before this channel is: an RPC on it then hit the old, closed channel and the
        # execution was never started (tests/test_faults_broker.py). So wait until this
        # channel is restored, and retry once if it closed under us; bounded either way.
        assert self._channel is not None
        async with asyncio.timeout(BIND_TIMEOUT_S):
            for attempt in (1, 2):
                if isinstance(self._channel, aio_pika.abc.AbstractRobustChannel):
                    await self._channel.ready()
                try:
                    await operation()
                    return
                except aiormq.exceptions.ChannelInvalidStateError:
                    if attempt == 2:
                        raise
                    await asyncio.sleep(0.1)

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        try:
            control = decode(message.body, ControlMessage)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("dropping malformed control message: %s", exc)
            return
        actor = self._registry.get(actor_address(control.execution_id))
        if actor is None:
            return  # the actor ended between routing and now; the sender falls back to the DB
        try:
            if isinstance(control, SnapshotRequest):
                answer = await actor.ask(control)
                await self._reply(message, encode(answer))
            else:
                actor.tell(control)
        except ActorDeadError:
            return

    async def _reply(self, request: aio_pika.abc.AbstractIncomingMessage, body: bytes) -> None:
        if not request.reply_to or self._channel is None:
            return
        await self._channel.default_exchange.publish(
            aio_pika.Message(body, content_type="application/json", correlation_id=request.correlation_id),
            routing_key=request.reply_to,
        )

    async def close(self) -> None:
        """Close the channel (the exclusive queue goes with it)."""
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
