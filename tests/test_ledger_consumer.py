"""The `hirebuddha ledger` process on real PostgreSQL and RabbitMQ: exactly once, append-only,
hash-chained, dead letters with reasons, crash safety, live usage events."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import aio_pika
import asyncpg
import msgspec
import pytest
from faststream.rabbit import RabbitBroker

from conftest import DB_NAME, Process
from helpers.eventually import eventually
from helpers.ledger import (
    credit_of,
    entries_of,
    make_partner,
    make_partner_rate,
    make_rate,
    make_tenant,
    model_name,
    start_ledger_process,
    usage,
)
from helpers.rabbit import make_broker, unique_prefix
from ledger import service
from ledger.live import MAX_ENTRIES
from ledger.pricing import AppliedRate, Commission, price
from runtime import db
from runtime.broker import Topology, declare_topology, delete_topology, topology, usage_live_key
from runtime.messages import UsageRecorded
from runtime.publishing import REASON_HEADER, publish_usage

D = Decimal
AMQP = os.environ["HB_AMQP_URL"]  # the run's own vhost (conftest)
OWNER_DSN = f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}"
PREFIX = unique_prefix()
ENV = {"HB_AMQP_PREFIX": PREFIX}


@pytest.fixture(scope="module")
async def topo(database: str) -> AsyncIterator[Topology]:
    """This module's own broker names, declared, and deleted afterwards."""
    t = topology(PREFIX)
    admin = make_broker()
    await admin.connect()
    await declare_topology(admin, t)
    yield t
    await delete_topology(admin, t)
    await admin.stop()


@pytest.fixture(scope="module")
async def broker(topo: Topology) -> AsyncIterator[RabbitBroker]:
    b = make_broker()
    await b.connect()
    yield b
    await b.stop()


async def start_ledger(*args: str) -> Process:
    """A real `hirebuddha ledger` process on this module's prefix, returned once it consumes."""
    return await start_ledger_process(*args, env=ENV)


@pytest.fixture
async def ledger(topo: Topology) -> AsyncIterator[Process]:
    proc = await start_ledger("--batch-size", "25", "--batch-ms", "20")
    yield proc
    proc.stop()
    assert proc.proc.returncode == 0, f"ledger did not stop cleanly:\n{proc.output()[-3000:]}"


async def run_verify() -> tuple[int, str]:
    proc = Process("ledger", "verify", env=ENV)
    code = await asyncio.to_thread(proc.proc.wait, 60)
    return code, proc.output()


async def count_entries(tenant_id: uuid.UUID) -> int:
    async with db.scope(system=True):
        row = await db.fetchrow("SELECT count(*) AS n FROM ledger_entries WHERE tenant_id = $1", tenant_id)
    assert row is not None
    return row["n"]


async def wait_entries(tenant_id: uuid.UUID, n: int, timeout: float = 30) -> None:
    await eventually(
        lambda: count_entries(tenant_id), lambda c: c >= n, f"{n} entries of {tenant_id}", timeout
    )


async def priced_tenant(credit: str = "100") -> tuple[uuid.UUID, str, Commission]:
    """A partner tenant with input and output rates (partner price on input only)."""
    model = model_name()
    system_in = await make_rate(model, "input_tokens", cost="0.003", billing="0.006")
    await make_rate(model, "output_tokens", cost="0.012", billing="0.024")
    partner = await make_partner("20", "margin")
    await make_partner_rate(partner, system_in, "0.0075")
    return await make_tenant(partner, credit), model, Commission(D("20"), "margin")


def expected_cost(events: list[UsageRecorded], commission: Commission) -> Decimal:
    """What the tenant owes for `events`, priced independently of the ledger's code path."""
    rate_in = AppliedRate(D("0.003"), "1k_tokens", D("0.0075"), "1k_tokens")
    rate_out = AppliedRate(D("0.012"), "1k_tokens", D("0.024"), "1k_tokens")
    total = D(0)
    for e in events:
        total += price(e.input_tokens, rate_in, commission).tenant_cost
        if e.output_tokens:
            total += price(e.output_tokens, rate_out, commission).tenant_cost
    return total


async def test_each_event_is_priced_once_despite_duplicates_and_live_events_follow(
    broker: RabbitBroker, topo: Topology, ledger: Process
) -> None:
    tenant, model, commission = await priced_tenant()
    connection = await aio_pika.connect_robust(AMQP)
    channel = await connection.channel()
    live_queue = await channel.declare_queue(exclusive=True)
    await live_queue.bind(topo.usage_live.name, routing_key=usage_live_key(tenant))

    events = [usage(tenant, model, random.randint(1, 5000), random.randint(0, 3000)) for _ in range(40)]
    copies = events * 2 + random.sample(events, 10)  # every event at least twice
    random.shuffle(copies)
    for event in copies:
        await publish_usage(broker, topo, event)
    sentinel = usage(tenant, model, 1)
    await publish_usage(broker, topo, sentinel)  # consumed after everything before it

    lines = sum(1 + (e.output_tokens > 0) for e in events) + 1
    await wait_entries(tenant, lines)
    entries = await entries_of(tenant)
    assert len(entries) == lines, "one entry per resource of each distinct event, no duplicates"
    assert len({e.event_id for e in entries}) == lines
    total = sum((e.tenant_cost for e in entries), D(0))
    assert total == expected_cost([*events, sentinel], commission), "sum to the last digit"
    assert await credit_of(tenant) == D("100") - total, "credit debited exactly once"
    assert all(
        e.partner_commission
        == price(
            e.quantity,
            AppliedRate(
                D(e.metadata["rate"]["cost_rate"]),
                "1k_tokens",
                D(e.metadata["rate"]["price_rate"]),
                "1k_tokens",
            ),
            commission,
        )[2]
        for e in entries
    )

    received = []
    async with live_queue.iterator() as messages:
        async with asyncio.timeout(10):
            async for message in messages:
                await message.ack()
                batch = json.loads(message.body)  # one message per tenant per commit
                assert batch["type"] == "usage.batch" and batch["tenant_id"] == str(tenant)
                assert 1 <= len(batch["entries"]) <= MAX_ENTRIES
                received.extend(batch["entries"])
                if len(received) == lines:
                    break
    await connection.close()
    assert [r["entry_id"] for r in received] == [str(e.id) for e in entries], "chain order"
    sample = received[0]
    assert sample["type"] == "usage" and sample["tenant_id"] == str(tenant)
    assert isinstance(sample["tenant_cost"], str), "money is a decimal string on the wire"


async def _dead_letters(topo: Topology, message_ids: set[str]) -> dict[str, str]:
    """Reasons of dead letters with these message ids (waits for all of them)."""
    connection = await aio_pika.connect_robust(AMQP)
    found: dict[str, str] = {}
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(topo.dead_letters.name, ensure=False)
        async with queue.iterator() as messages:
            async with asyncio.timeout(15):
                async for message in messages:
                    await message.ack()
                    if message.message_id in message_ids:
                        found[message.message_id] = str(message.headers.get(REASON_HEADER))
                    if set(found) == message_ids:
                        break
    finally:
        await connection.close()
    return found


async def test_unpriceable_and_malformed_events_are_dead_lettered_and_consumer_survives(
    broker: RabbitBroker, topo: Topology, ledger: Process
) -> None:
    tenant, model, _ = await priced_tenant()
    unknown_model = usage(tenant, "no-such-model", 100)
    unknown_tenant = usage(uuid.uuid4(), model, 100)
    await publish_usage(broker, topo, unknown_model)
    await publish_usage(broker, topo, unknown_tenant)
    await broker.publish(b"{not json", topo.usage.name, persist=True, message_id="malformed-1")
    await broker.publish(
        msgspec.json.encode({"type": "usage.recorded", "tenant_id": "x"}),
        topo.usage.name,
        persist=True,
        message_id="malformed-2",
    )
    good = usage(tenant, model, 1000)
    await publish_usage(broker, topo, good)

    await wait_entries(tenant, 1)
    ids = {str(unknown_model.event_id), str(unknown_tenant.event_id), "malformed-1", "malformed-2"}
    reasons = await _dead_letters(topo, ids)
    assert "no rate for model 'no-such-model'" in reasons[str(unknown_model.event_id)]
    assert "unknown tenant" in reasons[str(unknown_tenant.event_id)]
    assert reasons["malformed-1"].startswith("malformed usage event")
    assert reasons["malformed-2"].startswith("malformed usage event")
    assert ledger.proc.poll() is None, "the consumer is still running"
    assert len(await entries_of(tenant)) == 1


async def _finish_and_check(
    broker: RabbitBroker,
    topo: Topology,
    tenant: uuid.UUID,
    model: str,
    events: list[UsageRecorded],
    commission: Commission,
    credit: str,
) -> None:
    """Run a fresh consumer to the end: entries == distinct events, sums and credit exact."""
    second = await start_ledger("--batch-size", "50", "--batch-ms", "20")
    try:
        await wait_entries(tenant, len(events), timeout=60)
        sentinel = usage(tenant, model, 1)
        await publish_usage(broker, topo, sentinel)  # everything before it has been consumed
        await wait_entries(tenant, len(events) + 1)
        entries = await entries_of(tenant)
        assert len(entries) == len(events) + 1, "no entry lost, none doubled"
        total = sum((e.tenant_cost for e in entries), D(0))
        assert total == expected_cost([*events, sentinel], commission), "sums to the last digit"
        assert await credit_of(tenant) == D(credit) - total, "credit debited exactly once"
    finally:
        second.stop()
    code, out = await run_verify()
    assert code == 0, out


async def test_crash_between_commit_and_ack_duplicates_nothing(broker: RabbitBroker, topo: Topology) -> None:
    tenant, model, commission = await priced_tenant(credit="1000")
    events = [usage(tenant, model, random.randint(1, 5000)) for _ in range(60)]
    for event in events:
        await publish_usage(broker, topo, event)
    # SIGKILLs itself right after committing its third batch, before acking it. The queue
    # is full before it starts, so a batch waits up to 500 ms for its tenth event: with 5 ms a
    # loaded CI machine delivered one batch short (29 committed).
    doomed = Process(
        "ledger", "--batch-size", "10", "--batch-ms", "500", env={**ENV, "HB_LEDGER_CRASH_AFTER_COMMITS": "3"}
    )
    code = await asyncio.to_thread(doomed.proc.wait, 30)
    assert code == -signal.SIGKILL, doomed.output()[-3000:]
    committed = await count_entries(tenant)
    assert 30 <= committed < len(events), f"3 batches of 10 committed, got {committed}"
    await _finish_and_check(broker, topo, tenant, model, events, commission, "1000")


async def test_sigkill_mid_run_loses_nothing_and_duplicates_nothing(
    broker: RabbitBroker, topo: Topology
) -> None:
    tenant, model, commission = await priced_tenant(credit="1000")
    events = [usage(tenant, model, random.randint(1, 5000)) for _ in range(1500)]
    for event in events:  # all queued first, so the kill lands while a backlog is in flight
        await publish_usage(broker, topo, event)
    first = await start_ledger("--batch-size", "5", "--batch-ms", "5")
    try:
        await eventually(lambda: count_entries(tenant), lambda c: c >= 20, "the first entries")
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
        assert await count_entries(tenant) < len(events), "killed too late to prove anything"
        for event in events[:50]:  # and redeliveries from a retrying producer
            await publish_usage(broker, topo, event)
    finally:
        first.stop()
    await _finish_and_check(broker, topo, tenant, model, events, commission, "1000")


async def _ready(topo: Topology) -> int:
    """Messages ready in the usage queue."""
    connection = await aio_pika.connect_robust(AMQP)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(topo.usage.name, passive=True)
        return queue.declaration_result.message_count or 0
    finally:
        await connection.close()


async def test_events_published_at_once_travel_in_batches_and_are_recorded_once_across_a_crash(
    broker: RabbitBroker, topo: Topology
) -> None:
    """Usage events published while another waits for its confirm share one broker message
    (`UsageBatcher`); the ledger writes a message's events together, dead-letters an
    unpriceable one alone (its own body, its own id) and, killed between commit and ack,
    records nothing twice when the batch comes back."""
    tenant, model, commission = await priced_tenant(credit="1000")
    before = await _ready(topo)
    events = [usage(tenant, model, random.randint(1, 5000)) for _ in range(150)]
    unpriceable = usage(tenant, "no-such-model", 100)
    published = [*events[:70], unpriceable, *events[70:], *events[:5]]  # and five copies
    await asyncio.gather(*(publish_usage(broker, topo, event) for event in published))
    assert await _ready(topo) == before + 2, "156 events at once: one message of 100 and one of 56"

    # Dies right after its first commit (one whole message: batches never split one), unacked.
    doomed = Process(
        "ledger", "--batch-size", "10", "--batch-ms", "5", env={**ENV, "HB_LEDGER_CRASH_AFTER_COMMITS": "1"}
    )
    code = await asyncio.to_thread(doomed.proc.wait, 30)
    assert code == -signal.SIGKILL, doomed.output()[-3000:]
    assert await count_entries(tenant) == 99, "the first message's priceable events, together"
    await _finish_and_check(broker, topo, tenant, model, events, commission, "1000")
    assert await _ready(topo) == 0, "every message acked"

    connection = await aio_pika.connect_robust(AMQP)
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(topo.dead_letters.name, ensure=False)
        letters = []
        async with queue.iterator() as messages, asyncio.timeout(15):
            async for message in messages:
                await message.ack()
                if message.message_id == str(unpriceable.event_id):
                    letters.append(message)
                    break
    finally:
        await connection.close()
    (letter,) = letters
    assert "no rate for model 'no-such-model'" in str(letter.headers[REASON_HEADER])
    assert msgspec.json.decode(letter.body, type=UsageRecorded) == unpriceable, "the event alone"


async def test_corrections_are_reversing_entries(
    broker: RabbitBroker, topo: Topology, ledger: Process
) -> None:
    tenant, model, _ = await priced_tenant()
    event = usage(tenant, model, 2000)
    await publish_usage(broker, topo, event)
    await wait_entries(tenant, 1)
    (original,) = await entries_of(tenant)
    reversal = await service.reverse_entry(original.id, "customer refund")
    assert reversal.reverses_id == original.id
    assert reversal.amounts == tuple(-a for a in original.amounts)
    assert reversal.quantity == -original.quantity
    assert reversal.prev_hash == original.entry_hash
    assert await credit_of(tenant) == D("100"), "the charge is refunded"
    with pytest.raises(service.CorrectionError, match="already reversed"):
        await service.reverse_entry(original.id, "again")
    with pytest.raises(service.CorrectionError, match="itself a reversal"):
        await service.reverse_entry(reversal.id, "reverse the reversal")
    assert len(await entries_of(tenant)) == 2


async def test_app_role_cannot_update_or_delete_ledger_entries(
    broker: RabbitBroker, topo: Topology, ledger: Process
) -> None:
    tenant, model, _ = await priced_tenant()
    await publish_usage(broker, topo, usage(tenant, model, 10))
    await wait_entries(tenant, 1)
    for sql in (
        "UPDATE ledger_entries SET tenant_cost = 0 WHERE tenant_id = $1",
        "DELETE FROM ledger_entries WHERE tenant_id = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with db.scope(system=True):
                await db.execute(sql, tenant)
    owner = await asyncpg.connect(OWNER_DSN)
    try:  # even the owner is refused by the trigger
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await owner.execute("UPDATE ledger_entries SET tenant_cost = 0 WHERE tenant_id = $1", tenant)
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await owner.execute("DELETE FROM ledger_entries WHERE tenant_id = $1", tenant)
    finally:
        await owner.close()
    assert len(await entries_of(tenant)) == 1


async def _tamper(entry_id: uuid.UUID, delta: str) -> None:
    """Change an amount the way only the owner can: triggers off, inside one transaction."""
    owner = await asyncpg.connect(OWNER_DSN)
    try:
        async with owner.transaction():
            await owner.execute("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_no_update_delete")
            await owner.execute(
                "UPDATE ledger_entries SET tenant_cost = tenant_cost + $2::numeric WHERE id = $1",
                entry_id,
                delta,
            )
            await owner.execute("ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_no_update_delete")
    finally:
        await owner.close()


async def test_verify_passes_then_names_the_tampered_entry(
    broker: RabbitBroker, topo: Topology, ledger: Process
) -> None:
    tenant, model, _ = await priced_tenant()
    for _ in range(3):
        await publish_usage(broker, topo, usage(tenant, model, 1500, 700))
    await wait_entries(tenant, 6)
    code, out = await run_verify()
    assert code == 0 and "OK" in out, out

    victim = (await entries_of(tenant))[2]
    await _tamper(victim.id, "0.000001")
    try:
        code, out = await run_verify()
        assert code == 1, out
        assert f"first bad entry {victim.id}" in out, out
        assert "entry_hash does not match" in out
    finally:
        await _tamper(victim.id, "-0.000001")  # leave the shared database verifiable
    code, out = await run_verify()
    assert code == 0, out


async def test_a_hot_standby_takes_over_when_the_active_consumer_dies(
    broker: RabbitBroker, topo: Topology
) -> None:
    """Two ledger processes on the single-active-consumer queue: SIGKILL the active one mid-run
    and the standby, already connected, finishes the backlog with no new process started:
    entries == events, sums and credit exact, `ledger verify` passes.

    The active one SIGKILLs itself after its fourth commit, before acking it (the crash hook):
    killing it from here raced a ledger that had already written all 600 by the time the
    test looked."""
    tenant, model, commission = await priced_tenant(credit="1000")
    active = await start_ledger_process(
        "--batch-size", "5", "--batch-ms", "5", env={**ENV, "HB_LEDGER_CRASH_AFTER_COMMITS": "4"}
    )
    standby = await start_ledger("--batch-size", "5", "--batch-ms", "5")
    try:
        events = [usage(tenant, model, random.randint(1, 5000)) for _ in range(600)]
        for event in events:
            await publish_usage(broker, topo, event)
        code = await asyncio.to_thread(active.proc.wait, 30)
        assert code == -signal.SIGKILL, active.output()[-3000:]
        assert await count_entries(tenant) < len(events), "killed too late to prove anything"
        await wait_entries(tenant, len(events), timeout=60)
        entries = await entries_of(tenant)
        assert len(entries) == len(events), "no entry lost, none doubled"
        total = sum((e.tenant_cost for e in entries), D(0))
        assert total == expected_cost(events, commission), "sums to the last digit"
        assert await credit_of(tenant) == D("1000") - total, "credit debited exactly once"
        assert standby.proc.poll() is None, "the standby kept running"
    finally:
        active.stop()
        standby.stop()
    code, out = await run_verify()
    assert code == 0, out


@pytest.mark.soak
async def test_sigkills_at_random_points_during_10000_events_lose_and_duplicate_nothing(
    broker: RabbitBroker, topo: Topology
) -> None:
    """`make soak`: 10,000 events, the consumer SIGKILLed at three random points and restarted
    each time: entries == distinct events, sums and credit exact, `ledger verify` passes."""
    tenant, model, commission = await priced_tenant(credit="100000")
    events = [usage(tenant, model, random.randint(1, 5000)) for _ in range(10_000)]
    for event in events:
        await publish_usage(broker, topo, event)
    for _ in range(3):
        victim = await start_ledger("--batch-size", "50", "--batch-ms", "10")
        try:
            before = await count_entries(tenant)
            target = before + random.randint(200, 2000)
            await eventually(
                lambda: count_entries(tenant), lambda c: c >= min(target, len(events) - 1), "progress"
            )
            os.kill(victim.proc.pid, signal.SIGKILL)
            victim.proc.wait()
        finally:
            victim.stop()
    await _finish_and_check(broker, topo, tenant, model, events, commission, "100000")
