"""The `ledger` task: usage events from the queue become ledger entries, in batches.

Delivery contract (at-least-once in, exactly-once in the ledger):
    take messages until the batch holds `batch_size` events or `batch_ms` have passed since
    the first (whole messages: a `UsageBatch` from an actors process is never split);
    price them (`service.price_batch`, outside the write transaction); record them in one
    transaction (`service.write_batch`); commit; then ack. A crash before the commit loses
    nothing (the messages come back); a crash between commit and ack only redelivers events
    the ledger already holds, which the event-id key skips.

Pipeline: while one batch's transaction is in flight, the next batch is collected, decoded,
priced and its entries' chain content encoded, all but the stamp and hash (prefetch holds
three batches: the one being written, the one being prepared, and the next one arriving, so
a batch is full when its turn comes instead of waiting on the broker for the deliveries an
ack frees; it counts messages, so with batched usage messages it holds more, at most 100
events a message), so the database and Python work at the same time.
Writes stay strictly one after the other, in delivery order: each batch links its tenants'
chains after the previous batch's commit. A written batch is acked with ONE multiple-ack
(every earlier delivery of that channel is in it or was already dead-lettered), and its live
usage events go out after the commit from one task, in commit order.
Nothing is dropped: a malformed body, an unknown tenant or a model without a rate is
dead-lettered with its reason, and the consumer carries on.

The usage queue has a single active consumer, so a second `hirebuddha ledger` is a hot
standby that RabbitMQ activates when this one's connection dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, NamedTuple
from uuid import UUID

import aio_pika
import aiormq
import asyncpg
import msgspec
from faststream.rabbit import Channel, RabbitBroker

from ledger import service
from ledger.chain import Entry
from ledger.live import LivePublisher
from runtime import metrics, telemetry
from runtime.broker import BROKER_LOST, Topology, declare_topology
from runtime.messages import UsageMessage, UsageRecorded, decode, encode
from runtime.publishing import dead_letter

log = logging.getLogger("hirebuddha.ledger")

Delivery = aiormq.abc.DeliveredMessage
"""A delivery as aiormq hands it over: the ledger reads its body and acks it by tag, so the
aio-pika `IncomingMessage` around each one (a dozen properties decoded, a task to call the
callback) is skipped (`_LeanQueue`); a dead letter wraps its delivery in one."""

# Errors after which the same batch is worth retrying as it is (the database or network was
# unavailable, or a concurrent writer won a race); anything else is blamed on the data.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)


def _channel_open(message: Delivery) -> bool:
    try:
        return not message.channel.is_closed  # raises once the channel has closed
    except BROKER_LOST:
        return False


class _Consumed:
    """The two things `runtime.publishing.dead_letter` uses of a FastStream message."""

    def __init__(self, raw: Delivery) -> None:
        self.raw_message = aio_pika.IncomingMessage(raw)

    async def ack(self) -> None:
        await self.raw_message.ack()


class _OneOfMany:
    """One event of a `UsageBatch` as `dead_letter` sees a message: its own body under the
    batch's properties, and no ack (the batch's delivery is acked with the rest of it)."""

    def __init__(self, raw: Delivery, usage: _Usage) -> None:
        self.raw_message = SimpleNamespace(
            body=encode(usage.event),
            headers=dict(usage.trace or {}),
            routing_key=raw.routing_key,
            exchange=raw.exchange,
            content_type=raw.header.properties.content_type,
            message_id=str(usage.event.event_id),
            correlation_id=None,
        )

    async def ack(self) -> None:
        return None


class _LeanQueue(aio_pika.RobustQueue):
    """A robust queue whose consumer callback gets aiormq's `DeliveredMessage` as it comes.

    aio-pika builds an `IncomingMessage` per delivery and calls the callback in a task of its
    own: about a fifth of the ledger's CPU under a flood. The consumer is still registered
    like aio-pika's, so the robust channel restores it after a reconnect (`restore` calls
    this `consume` again)."""

    async def consume(
        self,
        callback: Any,
        no_ack: bool = False,
        exclusive: bool = False,
        arguments: Any = None,
        consumer_tag: Any = None,
        timeout: Any = None,  # noqa: ASYNC109 - aio-pika's signature (restore passes it)
        robust: bool = True,
    ) -> Any:
        channel = await self.channel.get_underlay_channel()
        result = await channel.basic_consume(
            queue=self.name,
            consumer_callback=callback,
            exclusive=exclusive,
            no_ack=no_ack,
            arguments=arguments,
            consumer_tag=consumer_tag,
            timeout=timeout,
        )
        if result.consumer_tag is None:
            raise RuntimeError("Consumer tag is None")
        if robust:
            self._consumers[result.consumer_tag] = {
                "callback": callback,
                "no_ack": no_ack,
                "exclusive": exclusive,
                "arguments": arguments,
            }
        return result.consumer_tag


class _Usage(NamedTuple):
    """One usage event as delivered: alone in its message, or one of a `UsageBatch`."""

    message: Delivery
    event: UsageRecorded
    trace: Mapping[str, Any] | None
    """The trace context of the event's publish (message headers, or the batch's `traces`)."""
    shared: bool
    """The delivery holds other events too: it is acked once all of them are settled."""


class _Prepared(NamedTuple):
    """A collected batch: its decodable events and, unless pricing failed, their prices."""

    pairs: list[_Usage]
    priced: service.Priced | None


def _tag(message: Delivery) -> int:
    return message.delivery.delivery_tag  # type: ignore[union-attr,return-value]  # a Basic.Deliver


async def _ack(messages: Sequence[Delivery], *, alone: bool) -> None:
    """Ack a committed batch: per channel, one multiple-ack at its newest delivery.

    Sound because batches are written in delivery order and everything older on that channel
    is in this batch or was settled before it (acked, or dead-lettered and acked). `alone`
    acks one by one instead (the one-by-one retry of a failed batch).
    """
    if alone:
        for message in {id(m): m for m in messages}.values():  # a shared delivery once
            await message.channel.basic_ack(_tag(message))
        return
    newest: dict[int, Delivery] = {}
    for message in messages:
        key = id(message.channel)
        if key not in newest or _tag(message) > _tag(newest[key]):
            newest[key] = message
    for message in newest.values():
        await message.channel.basic_ack(_tag(message), multiple=True)


class LedgerConsumer:
    """Consumes the usage queue until `stop` is set (see the module docstring)."""

    def __init__(
        self,
        broker: RabbitBroker,
        topo: Topology,
        *,
        batch_size: int,
        batch_ms: int,
        crash_after_commits: int | None = None,
    ) -> None:
        """`crash_after_commits` (tests only): SIGKILL this process right after that many
        committed batches, before their acks: the worst moment to die."""
        if batch_size < 1 or batch_ms < 0:
            raise ValueError("batch_size must be >= 1 and batch_ms >= 0")
        self.broker, self.topo = broker, topo
        self.batch_size, self.batch_s = batch_size, batch_ms / 1000
        self.live = LivePublisher(broker, topo)
        self.rates = service.RateCache()
        self._inbox: asyncio.Queue[Delivery] = asyncio.Queue()
        self._getter: asyncio.Future[Delivery] | None = None
        # Prefetch = three batches: the next one fills while this one commits (the pipeline),
        # and a third is already on its way when this one's ack goes out. With two, the batch
        # after next started from an empty inbox and some went out small in a drain (33-157 of 200).
        self._channel = Channel(prefetch_count=3 * batch_size, publisher_confirms=False)
        self._live_queue: asyncio.Queue[list[Entry]] = asyncio.Queue()
        self._crash_after, self._commits = crash_after_commits, 0

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        """Declare the topology, consume, and record batches; returns after `stop` is set.

        Unacked messages of an unfinished batch return to the queue when the channel closes.
        """
        await declare_topology(self.broker, self.topo)
        channel = await self.broker.config.channel_manager.get_channel(self._channel)
        # ensure=True (a passive declare), not ensure=False: only a queue the robust channel
        # declared is restored after a broker restart, with its consumer. With ensure=False
        # the ledger stopped consuming for good after a reconnect (tests/test_faults_broker.py).
        channel.QUEUE_CLASS = _LeanQueue  # this channel is the ledger's own
        queue = await channel.get_queue(self.topo.usage.name)
        if not isinstance(queue, _LeanQueue):
            raise RuntimeError(f"{queue!r} was declared on this channel before the ledger's consumer")
        tag = await queue.consume(self._on_delivery)
        log.info(
            "ledger.consume: %s (batch %d / %d ms)", queue.name, self.batch_size, int(self.batch_s * 1000)
        )
        if ready is not None:
            ready.set()
        live = asyncio.create_task(self._publish_live())
        ahead: asyncio.Task[_Prepared | None] | None = None
        try:
            while not stop.is_set():
                try:
                    current = await (ahead or self._prepare(stop))
                    ahead = None
                    if current is None:
                        continue
                    if not stop.is_set():
                        ahead = asyncio.create_task(self._prepare(stop))
                    await self._record(current.pairs, stop, current.priced)
                except BROKER_LOST as exc:
                    # The broker went away under a batch (an ack or a dead letter failed).
                    # Its unacked messages come back once the robust channel is restored,
                    # and recording them again is a no-op (unique event id): carry on
                    # instead of ending the process (tests/test_faults_broker.py).
                    log.warning("ledger: broker lost during a batch (%r); it will be redelivered", exc)
        finally:
            if ahead is not None:  # its messages are unacked: redelivered to the next consumer
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)
            if self._getter is not None:
                self._getter.cancel()
            with contextlib.suppress(*BROKER_LOST):  # the channel may be gone already
                await queue.cancel(tag)
            await self._flush_live(live)

    async def _on_delivery(self, message: Delivery) -> None:
        self._inbox.put_nowait(message)

    async def _get(self, within: float) -> Delivery | None:
        """The next message within `within` seconds, or None.

        The pending `get` survives a timeout instead of being cancelled: cancelling a
        `Queue.get` that just won its item would lose that delivery here while it stays
        unacked in RabbitMQ, silently holding a prefetch slot.
        """
        if self._getter is None:
            self._getter = asyncio.ensure_future(self._inbox.get())
        done, _ = await asyncio.wait({self._getter}, timeout=max(within, 0))
        if not done:
            return None
        message, self._getter = self._getter.result(), None
        return message

    async def _collect(self, stop: asyncio.Event) -> list[_Usage] | None:
        """Wait for a first message (waking up to check `stop`), then take messages until
        the batch holds `batch_size` events or `batch_ms` have passed; None when nothing came.

        Whole messages: the events of one `UsageBatch` are always written together."""
        first = await self._get(0.5)
        if first is None:
            return None
        pairs = await self._decode(first, [])
        deadline = asyncio.get_running_loop().time() + self.batch_s
        while len(pairs) < self.batch_size:
            if not self._inbox.empty():
                await self._decode(self._inbox.get_nowait(), pairs)
                continue
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or stop.is_set():
                break
            message = await self._get(remaining)
            if message is None:
                break
            await self._decode(message, pairs)
        return pairs

    async def _prepare(self, stop: asyncio.Event) -> _Prepared | None:
        """The next batch, decoded and (if that works) priced; None when nothing came."""
        pairs = await self._collect(stop)
        if pairs is None:
            return None
        priced = None
        if pairs:
            try:
                priced = await service.price_batch([usage.event for usage in pairs], self.rates)
            except Exception:  # noqa: BLE001 - `_record` prices again, with its error handling
                log.debug("ledger.price: deferred to the write", exc_info=True)
        return _Prepared(pairs, priced)

    async def _decode(self, message: Delivery, into: list[_Usage]) -> list[_Usage]:
        """Append the events of `message` to `into` (and return it); a malformed body is
        dead-lettered (and acked) at once."""
        # Deliveries taken in before a broker restart may still wait in `_inbox`: their channel
        # is gone, so they cannot be acked, and RabbitMQ redelivers them on the new one. Skip
        # them, or the first failed ack would leave the live deliveries of the batch unacked.
        if not _channel_open(message):
            return into
        try:
            decoded = decode(message.body, UsageMessage)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            await self._dead_letter(message, f"malformed usage event: {exc}")
            return into
        if isinstance(decoded, UsageRecorded):
            into.append(_Usage(message, decoded, message.header.properties.headers, False))
        elif not decoded.events:
            await self._dead_letter(message, "malformed usage event: a usage batch without events")
        else:
            traces = decoded.traces if len(decoded.traces) == len(decoded.events) else None
            shared = len(decoded.events) > 1
            for i, event in enumerate(decoded.events):
                into.append(_Usage(message, event, traces[i] if traces else None, shared))
        return into

    async def process(self, batch: Sequence[Delivery], stop: asyncio.Event) -> None:
        """Decode, record, then ack or dead-letter every message of the batch."""
        pairs: list[_Usage] = []
        for message in batch:
            await self._decode(message, pairs)
        if pairs:
            await self._record(pairs, stop)

    async def _record(
        self,
        pairs: Sequence[_Usage],
        stop: asyncio.Event,
        priced: service.Priced | None = None,
        *,
        alone: bool = False,
        ack: bool = True,
    ) -> bool:
        """Write (pricing first if `priced` is None), commit, dead-letter, ack, go live.
        True when every event is settled (recorded or dead-lettered).

        `alone`: the events of one delivery out of a batch that failed as a whole; acked by
        itself, since earlier deliveries of its batch may still be unacked. `ack=False`: one
        event of a shared delivery, which its caller acks once all its events are settled.
        """
        if not pairs:
            return True
        attempt = 0
        started_ns = time.time_ns()
        while True:
            try:
                if priced is None:
                    priced = await service.price_batch([usage.event for usage in pairs], self.rates)
                result = await service.write_batch(priced)
                break
            except TRANSIENT as exc:
                if stop.is_set():
                    return False  # unacked: redelivered to whoever consumes next
                attempt += 1
                delay = min(0.05 * 2**attempt, 5.0)
                log.warning("ledger.record: transient %r, retry in %.2fs", exc, delay)
                await asyncio.sleep(delay)
            except Exception as exc:
                if len(pairs) > 1:
                    # Find the culprit: one by one, so one bad event cannot stall the rest.
                    log.warning("ledger.record: batch failed (%r); recording one by one", exc)
                    return await self._record_one_by_one(pairs, stop)
                log.exception("ledger.record: event %s cannot be recorded", pairs[0].event.event_id)
                await self._dead_letter(pairs[0], f"ledger error: {exc!r}")
                return True
        self._commits += 1
        if self._crash_after is not None and self._commits >= self._crash_after:
            os.kill(os.getpid(), signal.SIGKILL)  # committed, not acked (crash tests)
        _observe(pairs, result, started_ns)
        settled = set(result.recorded)
        for pos, reason in result.rejected.items():
            await self._dead_letter(pairs[pos], reason)  # before the multiple-ack below
            if pairs[pos].shared:
                settled.add(pos)  # its delivery still waits for the ack below
        if ack:
            await _ack([pairs[pos].message for pos in settled], alone=alone)
        log.debug(
            "ledger.record: %d entries, %d duplicates, %d rejected",
            len(result.entries),
            result.duplicates,
            len(result.rejected),
        )
        if result.entries:
            self._live_queue.put_nowait(result.entries)
        return True

    async def _record_one_by_one(self, pairs: Sequence[_Usage], stop: asyncio.Event) -> bool:
        """Record a failed batch delivery by delivery, and a shared delivery that fails as
        a whole event by event, acking each delivery once all its events are settled."""
        deliveries: dict[int, list[_Usage]] = {}
        for usage in pairs:
            deliveries.setdefault(id(usage.message), []).append(usage)
        settled = True
        for group in deliveries.values():
            if len(group) < len(pairs):
                settled = await self._record(group, stop, alone=True) and settled
                continue
            # One delivery holds every event of `pairs`: no smaller delivery to try.
            done = True
            for usage in group:
                done = await self._record([usage], stop, alone=True, ack=False) and done
            if done:
                await _ack([group[0].message], alone=True)
            settled = settled and done
        return settled

    async def _publish_live(self) -> None:
        """Publish committed entries' live events, batch after batch (dashboards only)."""
        while True:
            entries = await self._live_queue.get()
            try:
                await self.live.publish(entries)
            except Exception:  # dashboards miss a tick; the ledger is already committed
                log.warning("ledger.live: publish failed", exc_info=True)
            finally:
                self._live_queue.task_done()

    async def _flush_live(self, task: asyncio.Task[None], within: float = 2.0) -> None:
        """Let queued live events go out (bounded) before stopping their task."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._live_queue.join(), within)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _dead_letter(self, what: Delivery | _Usage, reason: str) -> None:
        """Dead-letter a delivery (and ack it), or one event of a shared delivery (its own
        body; the delivery is acked with its other events)."""
        if isinstance(what, _Usage):
            consumed: _Consumed | _OneOfMany = (
                _OneOfMany(what.message, what) if what.shared else _Consumed(what.message)
            )
        else:
            consumed = _Consumed(what)
        log.warning("ledger.dead_letter: %s: %s", consumed.raw_message.message_id, reason)
        await dead_letter(self.broker, self.topo, consumed, reason)  # type: ignore[arg-type]


def _observe(pairs: Sequence[_Usage], result: service.BatchResult, started_ns: int) -> None:
    """Metrics of a committed batch and, when tracing, one `ledger.record` span per recorded
    event, child of the span that published it, over the batch's write and commit."""
    committed_ns = time.time_ns()
    metrics.LEDGER_BATCH.observe(len(pairs))
    metrics.LEDGER_EVENTS.labels("new").inc(max(len(result.recorded) - result.duplicates, 0))
    metrics.LEDGER_EVENTS.labels("rejected").inc(len(result.rejected))
    metrics.LEDGER_EVENTS.labels("duplicate").inc(result.duplicates)
    _record_entry_metrics(result.entries)
    now = committed_ns / 1e9
    for pos in result.recorded:
        event = pairs[pos].event
        metrics.LEDGER_LAG.observe(max(now - event.occurred_at.timestamp(), 0.0))
        if telemetry.ENABLED:
            telemetry.record_span(
                "ledger.record",
                telemetry.extract(pairs[pos].trace),
                started_ns,
                committed_ns,
                {"hb.event_id": str(event.event_id), "hb.execution_id": str(event.execution_id)},
            )


def _record_entry_metrics(entries: Sequence[Entry]) -> None:
    """`metrics.record_entries`, summed per label set first: one `labels()` lookup and one
    `inc()` per (tenant, model, resource) of the batch instead of up to four per entry."""
    sums: dict[tuple[UUID, str | None, str], list[Decimal]] = {}
    for e in entries:
        key = (e.tenant_id, e.model, e.resource_type)
        total = sums.get(key)
        if total is None:
            sums[key] = [e.quantity, e.platform_cost, e.tenant_cost, e.partner_commission]
        else:
            total[0] += e.quantity
            total[1] += e.platform_cost
            total[2] += e.tenant_cost
            total[3] += e.partner_commission
    slot = {"platform_cost": 1, "tenant_cost": 2, "partner_commission": 3}
    for (tenant_id, model, resource), total in sums.items():
        tenant, model_name = metrics.tenant_label(tenant_id), metrics.model_label(model or "")
        if resource in metrics.TOKEN_RESOURCES:
            metrics.TOKENS.labels(tenant, model_name, resource).inc(float(total[0]))
        for kind, field in metrics.COST_KINDS.items():
            if total[slot[field]]:
                metrics.COST.labels(tenant, model_name, kind).inc(float(total[slot[field]]))
