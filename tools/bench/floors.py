"""Floors measured in the same run: the RabbitMQ round trip with plain aio-pika."""

from __future__ import annotations

import asyncio
import secrets
import time

import aio_pika

from tools.bench.stats import summary


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
