"""`hirebuddha actors`: a process hosting agent actors, one per execution.

Competing consumers on the durable executions queues (one lane per tenant tier, each with
prefetch = `--capacity`) and on the webhooks queue; each
message starts an `AgentActor` whose address is bound to this process's control inbox
while it lives. The message is acked only after the execution's result is stored and
reported, so a crash hands it to another process (redelivery -> a new attempt).

SIGTERM: stop taking work, let running executions finish for `--shutdown-timeout`
seconds, then cancel the rest and nack them back to the queue for another process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import signal
import time

import aio_pika
import msgspec

from actors import ingest
from actors.agent import AgentActor
from actors.breaker import Breakers
from actors.channels import on_channel_reply
from actors.control import ControlInbox
from actors.execution import ActorContext, Limits
from actors.jobs import promote_forever
from actors.llm import Providers
from actors.sweeper import sweep_forever
from actors.webhooks import on_webhook
from actors.workflow import WorkflowActor
from runtime import db, heap, metrics, telemetry, trace
from runtime.broker import BROKER_LOST, build_broker, connect_robust, declare_topology, topology
from runtime.logs import configure_logging
from runtime.messages import ExecutionRequested, decode
from runtime.publishing import (
    PUBLIC_REASON_HEADER,
    REASON_HEADER,
    SOURCE_EXCHANGE_HEADER,
    SOURCE_HEADER,
    StreamPublisher,
)
from runtime.registry import ActorRegistry
from runtime.settings import add_flags, get_settings

log = logging.getLogger("hirebuddha.actors")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Flags of `hirebuddha actors`: one per field of `ActorsSettings`, defaults from it."""
    parser = argparse.ArgumentParser(prog="hirebuddha actors", description=__doc__)
    add_flags(parser, get_settings().actors)
    return parser.parse_args(argv)


class Worker:
    """One actors process: consumer, control inbox, actors, sweeper."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.settings = get_settings()
        self.topo = topology()
        self.registry = ActorRegistry()
        self.stopping = asyncio.Event()
        self.running: dict[str, AgentActor | WorkflowActor] = {}
        # The delivery each running actor acks when it ends. A broker restart kills the
        # channel of the original one; RabbitMQ then redelivers the message and that new
        # delivery takes its place here (`_adopt`), so the message is acked exactly once.
        self.deliveries: dict[str, aio_pika.abc.AbstractIncomingMessage] = {}
        self.handed_back: set[str] = set()
        self.idle = asyncio.Event()

    async def run(self) -> None:
        """Serve until SIGTERM/SIGINT, then shut down gracefully."""
        telemetry.setup("actors", self.settings.otlp_endpoint)
        metrics_server = metrics.serve(self.args.metrics_port, self.settings.metrics_host)
        await db.open_pool(min(self.settings.db.pool_max, self.args.capacity + 4))
        broker = build_broker(self.settings)
        await broker.connect()
        await declare_topology(broker, self.topo)
        streams = StreamPublisher(broker, self.topo)
        await streams.start()
        self.providers = Providers(self.settings)
        breakers = Breakers(self.args.breaker_threshold, self.args.breaker_cooldown, report=True)
        metrics.register_gauges("breakers", breakers.gauges)
        self.ctx = ActorContext(broker, self.topo, streams, self.providers, self._limits(), breakers)
        self.broker = broker
        connection = await connect_robust(self.settings.broker.url)
        self.inbox = ControlInbox(connection, self.topo, self.registry)
        await self.inbox.start()
        # One channel per tier lane, each with prefetch = capacity: a burst in one tier's
        # queue never sits in front of another tier's work (web.jobs "Fairness").
        consumers = []
        lanes = (self.topo.executions_enterprise, self.topo.executions_pro, self.topo.executions)
        for lane in lanes:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self.args.capacity)
            queue = await channel.get_queue(lane.name)
            on_execution = functools.partial(self._on_execution, lane=self.topo.label(lane))
            consumers.append((queue, await queue.consume(on_execution)))
        hooks = await connection.channel()
        await hooks.set_qos(prefetch_count=self.args.webhook_capacity)
        hooks_queue = await hooks.get_queue(self.topo.webhooks.name)
        consumers.append((hooks_queue, await hooks_queue.consume(on_webhook)))
        # Documents on a channel of their own, a few at a time (docs/knowledge.md "Ingestion").
        documents = await connection.channel()
        await documents.set_qos(prefetch_count=self.args.ingest_capacity)
        documents_queue = await documents.get_queue(self.topo.documents.name)
        on_document = ingest.consumer(ingest.IngestContext(broker, self.topo))
        consumers.append((documents_queue, await documents_queue.consume(on_document)))
        # Replies through Telegram/WhatsApp share the webhooks' channel and prefetch: both
        # are outbound HTTP with retries (actors.channels).
        replies_queue = await hooks.get_queue(self.topo.channel_replies.name)
        consumers.append((replies_queue, await replies_queue.consume(on_channel_reply)))
        args = self.args
        sweeper = asyncio.create_task(
            sweep_forever(self.ctx, args.sweep_interval, args.stale_after, args.pending_after)
        )
        promoter = asyncio.create_task(promote_forever(self.ctx, args.sweep_interval))
        sampled = {self.topo.label(q): q.name for q in (*lanes, self.topo.webhooks)}
        sampler = asyncio.create_task(metrics.sample_queues(connection.channel, sampled))
        # What start-up built (modules, the SDK's and Piccolo's classes, ~200,000 objects)
        # lives as long as the process: out of the collector's sight, and collections
        # rarer (runtime/heap.py).
        heap.settle_startup()
        log.info("actors ready: capacity %d on %s", args.capacity, self.topo.executions.name)
        print(f"actors ready (capacity {args.capacity})", flush=True)
        await self.stopping.wait()
        log.info("actors stopping: %d executions in flight", len(self.running))
        for queue, tag in consumers:
            await queue.cancel(tag)
        sweeper.cancel()
        promoter.cancel()
        sampler.cancel()
        await self._drain()
        await self.inbox.close()
        await connection.close()
        await self.providers.close()
        await broker.stop()
        await db.close_pool()
        if metrics_server is not None:
            metrics_server.shutdown()

    def _limits(self) -> Limits:
        return Limits(
            execution_timeout_s=self.args.execution_timeout,
            heartbeat_s=self.args.heartbeat,
            max_attempts=self.args.max_attempts,
            provider_retries=self.args.provider_retries,
            provider_timeout_s=self.args.provider_timeout,
        )

    async def _drain(self) -> None:
        actors = list(self.running.values())
        if actors:
            waits = [asyncio.create_task(a.wait_finished()) for a in actors]
            await asyncio.wait(waits, timeout=self.args.shutdown_timeout)
        for actor in list(self.running.values()):
            if not actor.run.finished.is_set():
                self.handed_back.add(actor.actor_id)
                await actor.stop(drain=False, timeout=5)
        # The consumers ack or nack, then leave `running`; the last one sets `idle`.
        if self.running:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.idle.wait(), 10)

    async def _on_execution(
        self, message: aio_pika.abc.AbstractIncomingMessage, lane: str = "executions"
    ) -> None:
        try:
            request = decode(message.body, ExecutionRequested)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            await self._dead_letter(message, f"malformed ExecutionRequested: {exc}")
            return
        trace.mark(request.execution_id, "delivered")
        if not message.redelivered:  # a redelivery's wait includes the attempt before it
            waited = time.time() - request.requested_at.timestamp()
            metrics.QUEUE_WAIT.labels(lane).observe(max(waited, 0.0))
        # A workflow run is orchestrated by its own actor; its nodes are its child actors.
        actor: AgentActor | WorkflowActor = (
            WorkflowActor(request, self.ctx)
            if request.workflow_id is not None
            else AgentActor(request, self.ctx)
        )
        actor.run.trace_parent = telemetry.extract(message.headers)
        if actor.actor_id in self.running:  # `running`, not the registry: bind comes first
            await self._adopt(actor.actor_id, message)
            return
        if self.stopping.is_set():
            await _settle(message, requeue=True)  # shutting down: another process takes it
            return
        log.info("execution.take %s (delivery %s)", request.execution_id, message.redelivered)
        self.running[actor.actor_id] = actor
        metrics.EXECUTIONS_RUNNING.inc()
        self.deliveries[actor.actor_id] = message
        started = False
        try:
            # Bound before the actor can mark the row running, so a cancel sent by anyone
            # who sees `running` always finds the actor.
            try:
                await self.inbox.bind(actor.address)
            except Exception:
                # The broker is not back (or the inbox channel not restored) in time: hand the
                # message back rather than ack an execution nobody ran (it stayed `pending`).
                log.warning("execution %s: control inbox unavailable; handing it back", actor.actor_id)
                await asyncio.sleep(1)  # not a hot redelivery loop while the broker recovers
                return
            actor.start(self.registry)
            started = True
            await actor.wait_finished()
            await actor.stop()
        except asyncio.CancelledError:
            # aiormq cancels a consumer's task when its channel closes (a broker restart), and
            # this delivery's ack can never be sent: RabbitMQ redelivers the message when the
            # broker is back. Left running, the actor kept its address registered here, so the
            # redelivery crashed on "already running" (or was acked as a duplicate) and the
            # execution stayed `running`. Stop it instead: its attempt is abandoned, and the
            # redelivery, here or in another process, claims the next attempt (store.claim)
            # and takes over; the client sees `execution.restarted`. Cleanup must finish, so
            # the cancellation is absorbed (nothing awaits this task's result).
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            if started and not actor.run.finished.is_set():
                log.warning("execution %s: its delivery's channel closed; handing it over", actor.actor_id)
                self.handed_back.add(actor.actor_id)
            if started:
                await actor.stop(drain=False, timeout=5)
        finally:
            with contextlib.suppress(Exception):
                await self.inbox.unbind(actor.address)
            delivery = self.deliveries.pop(actor.actor_id, message)
            handed_back = actor.actor_id in self.handed_back
            self.handed_back.discard(actor.actor_id)
            await _settle(delivery, requeue=True if handed_back or not started else None)
            self.running.pop(actor.actor_id, None)
            metrics.EXECUTIONS_RUNNING.dec()
            if not self.running and self.stopping.is_set():
                self.idle.set()

    async def _adopt(self, actor_id: str, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        """A second delivery of an execution this process runs right now."""
        current = self.deliveries.get(actor_id)
        if current is not None and _channel_alive(current):
            await _settle(message)  # a duplicate publish: the live actor already runs it
            return
        # The first delivery's channel died (broker restart) and its handler is still
        # stopping the actor: it settles this redelivery instead (ack if the execution
        # ended, else nack so that it comes back and takes over), never both, never neither.
        log.info("execution %s: redelivered while its previous delivery winds down", actor_id)
        self.deliveries[actor_id] = message

    async def _dead_letter(self, message: aio_pika.abc.AbstractIncomingMessage, reason: str) -> None:
        log.error("dead-lettering a message: %s", reason)
        # Keep what identifies the message (headers, correlation and message ids, content type)
        # and where it came from, as runtime.publishing.dead_letter does: without them the
        # admin cannot trace a dead letter to its sender, and a redrive went to the DLX itself
        # (tests/test_fuzz_amqp.py).
        await self.broker.publish(
            message.body,
            exchange=self.topo.dlx,
            routing_key=message.routing_key or "",
            headers={
                **(message.headers or {}),
                REASON_HEADER: reason[:1000],
                PUBLIC_REASON_HEADER: reason[:1000],
                SOURCE_HEADER: message.routing_key or "",
                SOURCE_EXCHANGE_HEADER: message.exchange or "",
            },
            persist=True,
            content_type=message.content_type,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
        )
        await message.ack()


def _channel_alive(message: aio_pika.abc.AbstractIncomingMessage) -> bool:
    try:
        return not message.channel.is_closed  # raises once the channel has closed
    except BROKER_LOST:
        return False


async def _settle(message: aio_pika.abc.AbstractIncomingMessage, *, requeue: bool | None = None) -> None:
    """Ack (`requeue=None`) or nack; a delivery whose channel died is left to RabbitMQ.

    A finished execution is acked, whatever its ending: `nack(requeue=False)` would make
    RabbitMQ dead-letter it ("rejected in queue ...executions"), filling the admin's
    dead-letter list with every chat and letting a re-drive replay a finished run. Only
    work handed back (never started, shutdown, a dead channel) is nacked, with requeue.

    After a broker restart the channel a message came on is gone: its ack or nack cannot be
    sent, and RabbitMQ redelivers the message, whose new delivery finds the execution ended
    (acked at once) or adopted by the live actor (`Worker._adopt`). Raising here only
    crashed the consumer callback.
    """
    try:
        if requeue is None:
            await message.ack()
        else:
            await message.nack(requeue=requeue)
    except BROKER_LOST as exc:
        log.warning("delivery %s not settled (%r); RabbitMQ redelivers it", message.delivery_tag, exc)


async def serve(args: argparse.Namespace) -> None:
    """Run a worker with signal handling."""
    worker = Worker(args)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stopping.set)
    await worker.run()


def main(argv: list[str] | None = None) -> int:
    """Entry point of `hirebuddha actors`."""
    configure_logging()
    asyncio.run(serve(parse_args(argv)))
    return 0
