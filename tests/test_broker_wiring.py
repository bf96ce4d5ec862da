"""The declared RabbitMQ objects and publishing paths, on the real broker."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import aio_pika
import pytest
from faststream.rabbit import RabbitMessage

from actors.coalesce import Coalescer, tick
from helpers.rabbit import make_broker
from runtime.broker import Topology, session_key
from runtime.messages import (
    CancelExecution,
    ControlMessage,
    DeltaBatch,
    DeltaEvent,
    ExecutionCancelled,
    ExecutionRequested,
    RelayMessage,
    StreamEvent,
    UsageRecorded,
    decode,
    encode,
)
from runtime.publishing import (
    DELTA_BATCH_KEY,
    REASON_HEADER,
    SOURCE_HEADER,
    StreamPublisher,
    Unroutable,
    dead_letter,
    publish_confirmed,
    publish_control,
    publish_execution,
    publish_usage,
)

WAIT = 10.0


def _request(text: str = "hello") -> ExecutionRequested:
    return ExecutionRequested(
        execution_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        agent_id=uuid.uuid4(),
        input=text,
    )


async def _raw_channel() -> tuple[aio_pika.abc.AbstractRobustConnection, Any]:
    connection = await aio_pika.connect_robust(os.environ["HB_AMQP_URL"])
    return connection, await connection.channel()


async def _next_message(queue: Any) -> aio_pika.abc.AbstractIncomingMessage:
    """First message of `queue`, waited for with a timeout (no polling loop)."""
    async with queue.iterator() as messages:
        async with asyncio.timeout(WAIT):
            async for message in messages:
                await message.ack()
                return message
    raise AssertionError("queue iterator ended without a message")


async def test_execution_is_consumed_and_poison_is_dead_lettered_with_reason(
    rabbit_topology: Topology,
) -> None:
    topo = rabbit_topology
    broker = make_broker()
    consumed: asyncio.Queue[ExecutionRequested] = asyncio.Queue()

    @broker.subscriber(topo.executions)
    async def executions_take(message: RabbitMessage) -> None:
        request = decode(message.body, ExecutionRequested)
        if request.input == "poison":
            await dead_letter(broker, topo, message, "agent not found")
            return
        await consumed.put(request)

    good, poison = _request("hello"), _request("poison")
    async with broker:
        await broker.start()
        await publish_execution(broker, topo, poison)
        await publish_execution(broker, topo, good)
        assert await asyncio.wait_for(consumed.get(), WAIT) == good

    connection, channel = await _raw_channel()
    async with connection:
        queue = await channel.declare_queue(topo.dead_letters.name, passive=True)
        dead = await _next_message(queue)
    assert decode(dead.body, ExecutionRequested) == poison
    assert dead.headers[REASON_HEADER] == "agent not found"
    assert dead.headers[SOURCE_HEADER] == topo.executions.name
    assert consumed.empty(), "the poison message must not reach the handler's output"


async def test_redelivery_beyond_the_delivery_limit_is_dead_lettered(
    rabbit_topology: Topology,
) -> None:
    topo = rabbit_topology
    broker = make_broker()
    async with broker:
        await broker.connect()
        await publish_execution(broker, topo, request := _request("crashes its consumer"))

    connection, channel = await _raw_channel()
    async with connection:
        work = await channel.declare_queue(topo.executions.name, passive=True)
        # A consumer that keeps crashing: each requeue counts as a delivery (limit 2).
        # basic.get, not a consumer: a cancelled consumer's prefetch would count too.
        deliveries = 0
        while (message := await work.get(fail=False, timeout=WAIT)) is not None:
            deliveries += 1
            await message.nack(requeue=True)
            assert deliveries <= 10, "the delivery limit was not enforced"
        assert deliveries == 3, "limit 2: two requeues allowed, the third return dead-letters"
        dead = await _next_message(await channel.declare_queue(topo.dead_letters.name, passive=True))
    assert decode(dead.body, ExecutionRequested) == request
    assert dead.headers["x-death"][0]["reason"] == "delivery_limit"


async def test_usage_is_persistent_and_control_reaches_the_actor_address(
    rabbit_topology: Topology,
) -> None:
    topo = rabbit_topology
    event = UsageRecorded(
        tenant_id=uuid.uuid4(),
        execution_id=uuid.uuid4(),
        agent_id=uuid.uuid4(),
        model="fake-1",
        provider="fake",
        input_tokens=3,
        output_tokens=5,
        counted=True,
    )
    cancel = CancelExecution(execution_id=uuid.uuid4())
    connection, channel = await _raw_channel()
    async with connection:
        inbox = await channel.declare_queue(exclusive=True, auto_delete=True)
        await inbox.bind(topo.control_all.name)
        broker = make_broker()
        async with broker:
            await broker.connect()
            await publish_usage(broker, topo, event)
            await publish_control(broker, topo, cancel)
        usage = await _next_message(await channel.declare_queue(topo.usage.name, passive=True))
        control = await _next_message(inbox)
    assert decode(usage.body, UsageRecorded) == event
    assert usage.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert usage.message_id == str(event.event_id)
    assert decode(control.body, ControlMessage) == cancel


async def test_a_confirmed_publish_no_queue_takes_raises_instead_of_passing_for_sent(
    rabbit_topology: Topology,
) -> None:
    """The lean confirmed path (executions, usage) is mandatory: a lane that does not exist
    fails the publish (admission then answers 503) instead of losing the execution; a lane
    that exists is acked and keeps the message's id, content type and persistence."""
    topo = rabbit_topology
    request = _request()
    broker = make_broker()
    async with broker:
        await broker.connect()
        with pytest.raises(Unroutable):
            await publish_confirmed(broker, encode(request), f"{topo.prefix}no-such-lane", "x:1")
        await publish_execution(broker, topo, request)  # the channel is still usable
    connection, channel = await _raw_channel()
    async with connection:
        queued = await _next_message(await channel.declare_queue(topo.executions.name, passive=True))
    assert decode(queued.body, ExecutionRequested) == request
    assert queued.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert queued.message_id == f"{request.execution_id}:{request.attempt}"
    assert queued.content_type == "application/json"


async def test_stream_events_route_by_session_without_confirms(
    rabbit_topology: Topology,
) -> None:
    topo = rabbit_topology
    session_id, execution_id = uuid.uuid4(), uuid.uuid4()
    deltas = [
        DeltaEvent(execution_id=execution_id, session_id=session_id, seq=i, text=f"t{i}")
        for i in range(1, 51)
    ]
    connection, channel = await _raw_channel()
    async with connection:
        watcher = await channel.declare_queue(exclusive=True, auto_delete=True)
        await watcher.bind(topo.streams.name, routing_key=session_key(session_id))
        broker = make_broker()
        async with broker:
            await broker.connect()
            publisher = StreamPublisher(broker, topo)
            await publisher.start()
            assert not publisher._channel.publisher_confirms  # type: ignore[union-attr]
            for delta in deltas:
                await publisher.publish(delta)
            received: list[Any] = []
            async with watcher.iterator() as messages, asyncio.timeout(WAIT):
                async for message in messages:
                    await message.ack()
                    received.append(decode(message.body, StreamEvent))
                    if len(received) == len(deltas):
                        break
    assert received == deltas, "deltas arrive complete and in seq order"


async def test_one_flush_tick_sends_the_deltas_of_many_streams_as_one_batch(
    rabbit_topology: Topology,
) -> None:
    """Ten streams on one process tick: each first delta goes alone at once, the pieces
    after it leave together as one `DeltaBatch`, and every session still reads seq 1, 2, ...
    in order, ending before its final event."""
    topo = rabbit_topology
    sessions = [uuid.uuid4() for _ in range(10)]
    connection, channel = await _raw_channel()
    async with connection:
        watcher = await channel.declare_queue(exclusive=True, auto_delete=True)
        await watcher.bind(topo.streams.name, routing_key=DELTA_BATCH_KEY)
        for session_id in sessions:
            await watcher.bind(topo.streams.name, routing_key=session_key(session_id))
        broker = make_broker()
        async with broker:
            await broker.connect()
            publisher = StreamPublisher(broker, topo)
            await publisher.start()

            def emitter(session_id: uuid.UUID) -> Any:
                async def emit(seq: int, text: str) -> None:
                    await publisher.publish(
                        DeltaEvent(execution_id=session_id, session_id=session_id, seq=seq, text=text)
                    )

                return emit

            coalescers = [Coalescer(emitter(s)) for s in sessions]
            for piece in ("a", "b", "c"):
                for coalescer in coalescers:
                    await coalescer.add(piece)
            await tick().settled()  # "bc" of every stream went out on one tick
            for coalescer in coalescers:
                await coalescer.close()
                await publisher.publish(
                    ExecutionCancelled(
                        execution_id=coalescer_session(coalescers, sessions, coalescer),
                        session_id=coalescer_session(coalescers, sessions, coalescer),
                        last_seq=coalescer.seq,
                    )
                )
            bodies: list[Any] = []
            async with watcher.iterator() as messages, asyncio.timeout(WAIT):
                async for message in messages:
                    await message.ack()
                    bodies.append(decode(message.body, RelayMessage))
                    if sum(isinstance(b, ExecutionCancelled) for b in bodies) == len(sessions):
                        break
    batches = [b for b in bodies if isinstance(b, DeltaBatch)]
    assert batches, "the pieces after the first deltas were batched"
    assert max(len(b.deltas) for b in batches) == len(sessions), "one tick carried every stream"
    for session_id in sessions:
        seen: list[Any] = []
        for body in bodies:
            events = body.all_events() if isinstance(body, DeltaBatch) else [body]
            seen += [e for e in events if e.session_id == session_id]
        assert isinstance(seen[-1], ExecutionCancelled) and seen[-1].last_seq == len(seen) - 1
        deltas = seen[:-1]
        assert [d.seq for d in deltas] == list(range(1, len(deltas) + 1)), "seq without gaps"
        assert [d.text for d in deltas] == ["a", "bc"]


def coalescer_session(coalescers: list[Any], sessions: list[uuid.UUID], coalescer: Any) -> uuid.UUID:
    return sessions[coalescers.index(coalescer)]
