"""Floors measured in the same run: the RabbitMQ round trip with plain aio-pika, and the
client CPU of the runtime's AMQP hot paths beside the library paths they replaced."""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
import time

import aio_pika
import aiormq

from tools.bench.stats import summary

PASSES = 4
"""Passes of each AMQP path in `amqp_client_cpu` (the first warms up)."""


async def broker_round_trip(amqp_url: str, count: int = 200) -> dict[str, float]:
    """publish -> consume -> reply -> consume, one message at a time; milliseconds.

    Two connections (a client and a responder), auto-deleted exclusive queues, no confirms,
    transient messages: the cheapest path RabbitMQ offers, which the runtime's hops add to.
    """
    client = await aio_pika.connect(amqp_url)
    responder = await aio_pika.connect(amqp_url)
    try:
        c_channel, r_channel = await client.channel(), await responder.channel()
        tag = secrets.token_hex(4)
        requests = await r_channel.declare_queue(f"bench-floor-req-{tag}", exclusive=True, auto_delete=True)
        replies = await c_channel.declare_queue(f"bench-floor-rep-{tag}", exclusive=True, auto_delete=True)
        inbox: asyncio.Queue[float] = asyncio.Queue()

        async def respond(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await r_channel.default_exchange.publish(aio_pika.Message(message.body), routing_key=replies.name)

        async def receive(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            inbox.put_nowait(time.perf_counter())

        await requests.consume(respond, no_ack=True)
        await replies.consume(receive, no_ack=True)
        times: list[float] = []
        for i in range(count + 20):  # the first 20 warm up
            sent = time.perf_counter()
            await c_channel.default_exchange.publish(aio_pika.Message(b"ping"), routing_key=requests.name)
            async with asyncio.timeout(10):
                got = await inbox.get()
            if i >= 20:
                times.append((got - sent) * 1000)
        return summary(times)
    finally:
        await client.close()
        await responder.close()


async def amqp_client_cpu(amqp_url: str, count: int = 1000, in_flight: int = 100) -> dict[str, float]:
    """The bench process's CPU per message, in microseconds, on the runtime's AMQP hot paths
    beside the library paths they replaced (README "Performance"):

    - `publish_faststream` / `publish_runtime`: a confirmed, persistent publish through
      FastStream's `broker.publish`, and through `runtime.publishing.publish_confirmed` (an
      execution per chat message, a usage event per LLM call), `in_flight` awaited at once;
    - `consume_aio_pika` / `consume_runtime`: a delivery through aio-pika's `Queue.consume`,
      and through aiormq's `basic_consume` as the web relay takes it.

    Client CPU only (`time.process_time`), with the broker on the same machine: a ratio
    between two paths of one run, not a latency. `PASSES` alternating passes of each, the
    least kept (the first warms up).
    """
    from faststream.rabbit import Channel, RabbitBroker

    from runtime.publishing import publish_confirmed

    body = secrets.token_hex(150).encode()  # about an execution message's size
    out: dict[str, float] = {}
    broker = RabbitBroker(amqp_url, default_channel=Channel(publisher_confirms=True), log_level=logging.DEBUG)
    await broker.connect()
    try:
        channel = await broker.config.channel_manager.get_channel()
        queue = await channel.declare_queue(f"bench-floor-cpu-{secrets.token_hex(4)}", exclusive=True)

        async def faststream() -> None:
            await broker.publish(
                body, queue.name, persist=True, content_type="application/json", message_id="m:1"
            )

        async def runtime() -> None:
            await publish_confirmed(broker, body, queue.name, "m:1")

        # Alternating passes, the first of each a warm-up, the least of the rest kept: the
        # bench process's own heap (its collector) and the machine add to a pass, never take.
        passes: dict[str, list[float]] = {}
        gc.collect()
        gc.disable()
        try:
            for name, publish in (("publish_faststream", faststream), ("publish_runtime", runtime)) * PASSES:
                started = time.process_time()
                for _ in range(count // in_flight):
                    await asyncio.gather(*(publish() for _ in range(in_flight)))
                passes.setdefault(name, []).append((time.process_time() - started) * 1e6 / count)
            await queue.purge()  # each consume pass takes only what it published
            for name in ("consume_aio_pika", "consume_runtime") * PASSES:
                passes.setdefault(name, []).append(
                    await _consume_cpu(channel, queue, name == "consume_runtime", count * 2)
                )
        finally:
            gc.enable()
        out.update({name: round(min(spent[1:]), 1) for name, spent in passes.items()})
        await queue.delete(if_unused=False, if_empty=False)
    finally:
        await broker.stop()
    return out


async def _consume_cpu(
    channel: aio_pika.abc.AbstractChannel, queue: aio_pika.abc.AbstractQueue, raw: bool, count: int
) -> float:
    """CPU microseconds per delivery of `count` messages already in `queue` (no ack)."""
    got, done = 0, asyncio.get_running_loop().create_future()

    def take() -> None:
        nonlocal got
        got += 1
        if got == count and not done.done():
            done.set_result(None)

    async def through_aio_pika(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        _ = message.body, message.correlation_id
        take()

    async def through_aiormq(message: aiormq.abc.DeliveredMessage) -> None:
        _ = message.body, message.header.properties.correlation_id
        take()

    underlay = await channel.get_underlay_channel()
    properties = aiormq.spec.Basic.Properties(content_type="application/json")
    for _ in range(count // 200):
        await asyncio.gather(
            *(
                underlay.basic_publish(b"x" * 150, exchange="", routing_key=queue.name, properties=properties)
                for _ in range(200)
            )
        )
    started = time.process_time()
    if raw:
        tag = (await underlay.basic_consume(queue.name, through_aiormq, no_ack=True)).consumer_tag or ""
    else:
        tag = await queue.consume(through_aio_pika, no_ack=True)
    async with asyncio.timeout(30):
        await done
    spent = time.process_time() - started
    if raw:
        await underlay.basic_cancel(tag)
    else:
        await queue.cancel(tag)
    return spent * 1e6 / count
