"""One live-usage relay per web process: ledger events to this process's usage sockets.

One exclusive, auto-delete queue bound to the usage.live exchange with `usage.*` while at
least one usage socket is open here (unbound when the last leaves), so a process without
dashboards receives nothing. Each socket filters what it may see (`Viewer`) and has a
bounded buffer: a socket never blocks the relay. The ledger sends one `LiveUsageBatch` per
tenant per commit (a lone `LiveUsage` is still understood); each of its entries reaches the
sockets as its own `usage` frame, as before.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import aio_pika
import msgspec
from litestar import Litestar

from runtime.broker import connect_robust, topology
from runtime.messages import LiveUsage, LiveUsageBatch, LiveUsageMessage, decode
from runtime.settings import Settings
from web.auth.identity import Principal
from web.usage.schemas import UsageFrame

log = logging.getLogger("hirebuddha.web")
ALL_TENANTS = "usage.*"


@dataclass(frozen=True)
class Viewer:
    """What one usage socket may see: all (app admin), a partner's tenants, or one tenant."""

    role: str
    tenant_id: uuid.UUID | None = None
    partner_id: uuid.UUID | None = None

    @classmethod
    def of(cls, me: Principal) -> Viewer | None:
        """The viewer of a caller; None for roles without live usage."""
        if me.role == "app_admin":
            return cls("app_admin")
        if me.role == "partner_admin" and me.partner_id is not None:
            return cls("partner_admin", partner_id=me.partner_id)
        if me.role == "tenant_admin":
            return cls("tenant_admin", tenant_id=me.tenant_id)
        return None

    def frame(self, event: LiveUsage) -> UsageFrame | None:
        """The frame this viewer gets for `event`, or None when it is not theirs."""
        if self.role == "partner_admin" and event.partner_id != self.partner_id:
            return None
        if self.role == "tenant_admin" and event.tenant_id != self.tenant_id:
            return None
        hide = self.role == "tenant_admin"  # no platform cost or commission for a tenant
        return UsageFrame(
            tenant_id=event.tenant_id,
            execution_id=event.execution_id,
            model=event.model,
            resource_type=event.resource_type,
            quantity=event.quantity,
            tenant_cost=event.tenant_cost,
            at=event.at,
            platform_cost=None if hide else event.platform_cost,
            partner_commission=None if hide else event.partner_commission,
        )


class Sink(Protocol):
    """A usage socket."""

    def deliver_many(self, events: list[LiveUsage]) -> None:
        """Take the events of one live message, in order, without waiting."""
        ...


class UsageRelay:
    """The process's live-usage queue and its subscribers."""

    def __init__(self, url: str, exchange: str) -> None:
        self._url, self._exchange_name = url, exchange
        self._sinks: set[Sink] = set()
        self._lock = asyncio.Lock()  # keeps "first binds, last unbinds" exact
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._queue: aio_pika.abc.AbstractQueue | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None

    async def start(self) -> None:
        """Connect, declare the exchange (idempotent) and the exclusive queue, consume."""
        self._connection = await connect_robust(self._url)
        channel = await self._connection.channel()
        self._exchange = await channel.declare_exchange(
            self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        self._queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
        await self._queue.consume(self._on_message, no_ack=True)

    async def close(self) -> None:
        """Disconnect; the queue and its binding go with it."""
        if self._connection is not None:
            await self._connection.close()

    async def subscribe(self, sink: Sink) -> None:
        """Deliver every live event to `sink` (which filters) from now on."""
        assert self._queue is not None and self._exchange is not None
        async with self._lock:
            if not self._sinks:
                await self._queue.bind(self._exchange, routing_key=ALL_TENANTS)
            self._sinks.add(sink)

    async def unsubscribe(self, sink: Sink) -> None:
        """Stop delivering to `sink`; unbind when it was the last one."""
        assert self._queue is not None and self._exchange is not None
        async with self._lock:
            if sink not in self._sinks:
                return
            self._sinks.discard(sink)
            if not self._sinks:
                await self._queue.unbind(self._exchange, routing_key=ALL_TENANTS)

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        try:
            decoded = decode(message.body, LiveUsageMessage)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("usage relay dropped a malformed message: %s", exc)
            return
        events = decoded.entries if isinstance(decoded, LiveUsageBatch) else [decoded]
        for sink in list(self._sinks):
            sink.deliver_many(events)


@asynccontextmanager
async def usage_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Start this process's usage relay as `app.state.usage_relay`."""
    settings: Settings = app.state.settings
    relay = UsageRelay(settings.broker.url, topology(settings.broker.prefix).usage_live.name)
    await relay.start()
    app.state.usage_relay = relay
    try:
        yield
    finally:
        await relay.close()
