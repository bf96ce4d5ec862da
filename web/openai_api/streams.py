"""Stream events of session-less executions (`execution.<id>` keys) for this web process.

The chat relay (web.chat.relay) follows sessions; the OpenAI-compatible API runs executions
without a session, whose events the actors publish under `execution.<id>`. One exclusive
queue per web process, opened on first use; each request binds its execution's key BEFORE
the execution is queued (so no delta can be missed) and unbinds when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

import aio_pika
import msgspec

from runtime.broker import Topology, connect_robust, execution_key
from runtime.messages import StreamEvent, decode

log = logging.getLogger("hirebuddha.web")

BIND_TIMEOUT_S = 5.0


class ExecutionStreams:
    """The process's queue for execution-keyed stream events and who listens to which."""

    def __init__(self, url: str, topo: Topology) -> None:
        self._url, self._topo = url, topo
        self._listeners: dict[uuid.UUID, list[asyncio.Queue[StreamEvent]]] = {}
        """Listeners per execution (a workflow run may have several run sockets here)."""
        self._opening = asyncio.Lock()
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._queue: aio_pika.abc.AbstractQueue | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None

    async def _open(self) -> tuple[aio_pika.abc.AbstractQueue, aio_pika.abc.AbstractExchange]:
        async with self._opening:
            if self._queue is None or self._exchange is None:
                self._connection = await connect_robust(self._url)
                channel = await self._connection.channel()
                self._exchange = await channel.get_exchange(self._topo.streams.name)
                name = f"{self._topo.streams.name}.openai.{uuid.uuid4().hex}"
                self._queue = await channel.declare_queue(name, exclusive=True, auto_delete=True)
                await self._queue.consume(self._on_message, no_ack=True)
        return self._queue, self._exchange

    async def close(self) -> None:
        """Disconnect (the queue and its bindings go with it)."""
        if self._connection is not None:
            await self._connection.close()
            self._connection = self._queue = self._exchange = None

    @contextlib.asynccontextmanager
    async def listen(self, execution_id: uuid.UUID) -> AsyncIterator[asyncio.Queue[StreamEvent]]:
        """The execution's events, in order, from before it is queued until the block ends."""
        queue, exchange = await self._open()
        events: asyncio.Queue[StreamEvent] = asyncio.Queue()
        self._listeners.setdefault(execution_id, []).append(events)
        try:
            async with asyncio.timeout(BIND_TIMEOUT_S):
                await queue.bind(exchange, routing_key=execution_key(execution_id))
            yield events
        finally:
            listeners = self._listeners.get(execution_id, [])
            if events in listeners:
                listeners.remove(events)
            if not listeners:
                self._listeners.pop(execution_id, None)
                # In its own task: the caller may be cancelled (the client went away), and a
                # stale binding would only feed events to nobody until the process ends.
                task = asyncio.get_running_loop().create_task(self._unbind(execution_id))
                _BACKGROUND.add(task)
                task.add_done_callback(_BACKGROUND.discard)

    async def _unbind(self, execution_id: uuid.UUID) -> None:
        if self._queue is None or self._exchange is None or execution_id in self._listeners:
            return  # (a new listener came meanwhile: its binding stays)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(BIND_TIMEOUT_S):
                await self._queue.unbind(self._exchange, routing_key=execution_key(execution_id))

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        try:
            event = decode(message.body, StreamEvent)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("openai streams dropped a malformed message: %s", exc)
            return
        for listener in self._listeners.get(event.execution_id, ()):
            listener.put_nowait(event)


_BACKGROUND: set[asyncio.Task[None]] = set()
"""Unbind tasks in flight (kept referenced until done)."""
