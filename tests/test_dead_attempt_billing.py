"""The attempt that takes over a workflow run bills the calls its dead predecessor had in
flight, once, and not the nodes that predecessor finished (actors/progress.py): their last
heartbeat may still list them, though each node published its own usage before it was
recorded as finished."""

from __future__ import annotations

import asyncio
import uuid

from actors import progress
from actors.progress import Progress, to_column
from helpers.platform import UsageTap
from helpers.rabbit import make_broker
from runtime.broker import Topology
from runtime.publishing import publish_usage


def _call(node_id: str, attempt: int = 1) -> Progress:
    return Progress(
        attempt=attempt,
        call=1,
        agent_id=uuid.uuid4(),
        model="fake",
        provider="fake",
        input_tokens=12,
        output_tokens=7,
        node_id=node_id,
    )


async def test_a_takeover_bills_the_dead_attempts_calls_in_flight_and_not_its_finished_nodes(
    rabbit_topology: Topology,
) -> None:
    run, tenant = uuid.uuid4(), uuid.uuid4()
    # The last heartbeat came before `fast` and `rank[1]` finished; `rank[2]` was cut by the
    # kill; `rank[3]` is the new attempt's own call.
    stored = to_column([_call("fast"), _call("rank[1]"), _call("rank[2]"), _call("rank[3]", attempt=2)])
    broker = make_broker()
    await broker.connect()
    try:
        async with UsageTap(rabbit_topology.prefix) as usage:
            billed = await progress.bill_dead_attempt(
                broker, rabbit_topology, run, tenant, stored, before_attempt=2, finished={"fast", "rank[1]"}
            )
            assert billed
            # A marker after them: once it is in, everything published before it is too.
            await publish_usage(broker, rabbit_topology, _call("marker", attempt=2).usage(run, tenant))
            async with asyncio.timeout(30):
                while not any(e.node_id == "marker" for e in usage.of(str(run))):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
    finally:
        await broker.stop()
    events = [e for e in usage.of(str(run)) if e.node_id != "marker"]
    assert [e.node_id for e in events] == ["rank[2]"], [e.node_id for e in events]
    assert events[0].output_tokens == 7
    assert events[0].event_id == _call("rank[2]").event_id(run)  # the id the node's own event had
