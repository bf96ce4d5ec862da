"""The `ledger` task: usage events from the queue become ledger entries, in batches.

Delivery contract (at-least-once in, exactly-once in the ledger):
    take up to `batch_size` messages or whatever arrived within `batch_ms` of the first;
    record them in one transaction (`service.record_batch`); commit; then ack. A crash before
    the commit loses nothing (the messages come back); a crash between commit and ack only
    redelivers events the ledger already holds, which the event-id key skips.
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
from collections.abc import Sequence

import aio_pika
import asyncpg
import msgspec
from faststream.rabbit import Channel, RabbitBroker

from ledger import service
from ledger.live import LivePublisher
from runtime.broker import BROKER_LOST, Topology, declare_topology
from runtime.messages import UsageRecorded, decode
from runtime.publishing import dead_letter

log = logging.getLogger("hirebuddha.ledger")

Delivery = aio_pika.abc.AbstractIncomingMessage

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
    service.ChainConflict,
)


def _channel_open(message: Delivery) -> bool:
    try:
        return not message.channel.is_closed  # raises once the channel has closed
    except BROKER_LOST:
        return False


class _Consumed:
    """The two things `runtime.publishing.dead_letter` uses of a FastStream message."""

    def __init__(self, raw: Delivery) -> None:
        self.raw_message = raw

    async def ack(self) -> None:
        await self.raw_message.ack()


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
        self._inbox: asyncio.Queue[Delivery] = asyncio.Queue()
        self._getter: asyncio.Future[Delivery] | None = None
        # Prefetch = batch size: a full batch can be in hand while nothing else is unacked.
        self._channel = Channel(prefetch_count=batch_size, publisher_confirms=False)
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
        queue = await channel.get_queue(self.topo.usage.name)
        tag = await queue.consume(self._inbox.put)
        log.info(
            "ledger.consume: %s (batch %d / %d ms)", queue.name, self.batch_size, int(self.batch_s * 1000)
        )
        if ready is not None:
            ready.set()
        try:
            while not stop.is_set():
                batch = await self._collect(stop)
                if batch:
                    try:
                        await self.process(batch, stop)
                    except BROKER_LOST as exc:
                        # The broker went away under this batch (an ack or a dead letter
                        # failed). Its unacked messages come back once the robust channel is
                        # restored, and recording them again is a no-op (unique event id):
                        # carry on instead of ending the process (tests/test_faults_broker.py).
                        log.warning("ledger: broker lost during a batch (%r); it will be redelivered", exc)
        finally:
            if self._getter is not None:
                self._getter.cancel()
            with contextlib.suppress(*BROKER_LOST):  # the channel may be gone already
                await queue.cancel(tag)

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

    async def _collect(self, stop: asyncio.Event) -> list[Delivery]:
        """Wait for a first message (waking up to check `stop`), then fill the batch."""
        first = await self._get(0.5)
        if first is None:
            return []
        batch = [first]
        deadline = asyncio.get_running_loop().time() + self.batch_s
        while len(batch) < self.batch_size:
            if not self._inbox.empty():
                batch.append(self._inbox.get_nowait())
                continue
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or stop.is_set():
                break
            message = await self._get(remaining)
            if message is None:
                break
            batch.append(message)
        return batch

    async def process(self, batch: Sequence[Delivery], stop: asyncio.Event) -> None:
        """Decode, record, then ack or dead-letter every message of the batch."""
        pairs: list[tuple[Delivery, UsageRecorded]] = []
        # Deliveries taken in before a broker restart may still wait in `_inbox`: their channel
        # is gone, so they cannot be acked, and RabbitMQ redelivers them on the new one. Skip
        # them, or the first failed ack would leave the live deliveries of the batch unacked.
        batch = [message for message in batch if _channel_open(message)]
        for message in batch:
            try:
                pairs.append((message, decode(message.body, UsageRecorded)))
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                await self._dead_letter(message, f"malformed usage event: {exc}")
        if pairs:
            await self._record(pairs, stop)

    async def _record(self, pairs: Sequence[tuple[Delivery, UsageRecorded]], stop: asyncio.Event) -> None:
        attempt = 0
        while True:
            try:
                result = await service.record_batch([event for _, event in pairs])
                break
            except TRANSIENT as exc:
                if stop.is_set():
                    return  # unacked: redelivered to whoever consumes next
                attempt += 1
                delay = min(0.05 * 2**attempt, 5.0)
                log.warning("ledger.record: transient %r, retry in %.2fs", exc, delay)
                await asyncio.sleep(delay)
            except Exception as exc:
                if len(pairs) > 1:
                    # Find the culprit: one by one, so one bad event cannot stall the rest.
                    log.warning("ledger.record: batch failed (%r); recording one by one", exc)
                    for pair in pairs:
                        await self._record([pair], stop)
                    return
                log.exception("ledger.record: event %s cannot be recorded", pairs[0][1].event_id)
                await self._dead_letter(pairs[0][0], f"ledger error: {exc!r}")
                return
        self._commits += 1
        if self._crash_after is not None and self._commits >= self._crash_after:
            os.kill(os.getpid(), signal.SIGKILL)  # committed, not acked (crash tests)
        for pos, reason in result.rejected.items():
            await self._dead_letter(pairs[pos][0], reason)
        for pos in sorted(result.recorded):
            await pairs[pos][0].ack()
        log.debug(
            "ledger.record: %d entries, %d duplicates, %d rejected",
            len(result.entries),
            result.duplicates,
            len(result.rejected),
        )
        try:
            await self.live.publish(result.entries)
        except Exception:  # dashboards miss a tick; the ledger is already committed
            log.warning("ledger.live: publish failed", exc_info=True)

    async def _dead_letter(self, message: Delivery, reason: str) -> None:
        log.warning("ledger.dead_letter: %s: %s", message.message_id, reason)
        consumed = _Consumed(message)
        await dead_letter(self.broker, self.topo, consumed, reason)  # type: ignore[arg-type]
