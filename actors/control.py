"""The process's control inbox: one exclusive queue bound to the control fanout.

Every actors process receives every control message (cancels and snapshot requests: a few
per execution at most) and hands it to its actor `actor.<execution_id>` if it runs that
execution, so a message reaches the actor in whichever process it runs. One binding per
process, made at start: no bind or unbind round trip per execution (issue 11).
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import aio_pika
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
        """Declare the exclusive queue, bind it to the fanout and start consuming."""
        self._channel = await self._connection.channel()
        self._exchange = await self._channel.get_exchange(self._topo.control_all.name)
        # Our own name (traceable in the management UI). The robust channel re-declares the
        # queue and re-binds it after a broker restart.
        name = f"{self._topo.control.name}.inbox.{uuid.uuid4().hex}"
        self._queue = await self._channel.declare_queue(name, exclusive=True, auto_delete=True)
        await self._queue.bind(self._exchange)
        await self._queue.consume(self._on_message, no_ack=True)

    async def bind(self, address: str) -> None:
        """Make sure control messages for `address` reach this process (before the actor may
        become visible as running): the inbox channel must be up.

        Raises TimeoutError when the broker is not back within BIND_TIMEOUT_S.
        """
        await self._when_ready()

    async def unbind(self, address: str) -> None:
        """Nothing to undo: the fanout binding is the process's, not the actor's."""

    async def _when_ready(self) -> None:
        # After a reconnect the execution lanes' consumers may be restored (and deliver)
        # before this channel is: a control message sent meanwhile would be lost, so an
        # execution waits until this channel is restored (tests/test_faults_broker.py).
        assert self._channel is not None
        if isinstance(self._channel, aio_pika.abc.AbstractRobustChannel):
            async with asyncio.timeout(BIND_TIMEOUT_S):
                await self._channel.ready()  # no round trip: two events, set while healthy

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
