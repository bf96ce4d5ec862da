"""AMQP fuzz beyond test_jobs: hypothesis-generated jobs (bodies, headers, content types) on the
intake, and malformed messages put straight onto the executions and usage queues. Every bad
message is dead-lettered with a reason; the consumers (web intake, actors, ledger) never stop."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.api import ApiUser
from helpers.chat_fixtures import fake_agent, open_session
from helpers.dead_letters import correlation_in
from helpers.eventually import eventually
from helpers.ledger import make_tenant, priced_model, start_ledger_process, usage
from helpers.platform import WAIT, Platform, chat, fake_reply
from runtime import db
from runtime.messages import encode
from runtime.settings import get_settings


@pytest.fixture(scope="module")
async def ledger(platform: Platform) -> AsyncIterator[None]:
    """A ledger consumer on the platform's prefix."""
    proc = await start_ledger_process(env=platform.env)
    yield
    await asyncio.to_thread(proc.stop)


@pytest.fixture
async def amqp(platform: Platform) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    connection = await aio_pika.connect(get_settings().broker.url)
    async with connection:
        yield await connection.channel()


async def dead_letters(correlation_ids: set[str], timeout: float = WAIT) -> dict[str, Any]:
    """The dead-letter rows of these correlation ids, waiting until all are there."""

    async def probe() -> dict[str, Any]:
        async with db.scope(system=True):
            rows = await db.fetch(
                "SELECT correlation_id, reason, routing_key FROM dead_letters WHERE correlation_id = ANY($1)",
                list(correlation_ids),
            )
        return {r["correlation_id"]: r for r in rows}

    return await eventually(probe, lambda rows: len(rows) == len(correlation_ids), "dead letters", timeout)


def generated_jobs(agent_id: str, key: str, count: int) -> list[dict[str, Any]]:
    """`count` hypothesis-generated jobs: body bytes, headers, content type, encoding."""
    junk = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=6,
    )
    job = st.fixed_dictionaries(
        {},
        optional={
            "agent_id": st.sampled_from([agent_id, str(uuid.uuid4()), "", "not-a-uuid"]) | junk,
            "input": st.text(max_size=50) | junk,
            "metadata": junk,
        },
    )
    body = st.one_of(
        job.map(lambda d: json.dumps(d).encode()),
        st.binary(max_size=300),
        junk.map(lambda v: json.dumps(v).encode()),
        st.text(max_size=100).map(str.encode),
    )
    header_value = (
        st.sampled_from([key, key + "x", "", "hb_" + uuid.uuid4().hex])
        | st.integers(-(2**31), 2**31)
        | st.booleans()
    )
    headers = st.dictionaries(
        st.sampled_from(["x-api-key", "x-other", "content-type"]), header_value, max_size=3
    )
    props = st.fixed_dictionaries(
        {
            "content_type": st.sampled_from(["application/json", "text/plain", "application/xml", "", None]),
            "content_encoding": st.sampled_from([None, "gzip", "utf-8"]),
        }
    )
    found: list[dict[str, Any]] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(body=body, headers=headers, props=props)
    def collect(body: bytes, headers: dict[str, Any], props: dict[str, Any]) -> None:
        found.append({"body": body, "headers": headers, **props})

    collect()
    return found


async def test_generated_jobs_each_get_an_answer_and_bad_ones_a_dead_letter_with_reason(
    platform: Platform, admin: ApiUser, amqp: aio_pika.abc.AbstractChannel, expect_dead_letters
) -> None:
    """80 generated jobs (valid, malformed, wrong types, wrong or missing keys, odd content
    types and encodings): every one gets a result on reply_to; each `rejected` result names an
    error code and has a dead letter with a reason; a good job afterwards completes."""
    bot = await fake_agent(admin)
    r = await admin.post("/api/v1/tenant/api-keys", json={"name": "fuzz"})
    key = r.json()["key"]
    reply = await amqp.declare_queue(exclusive=True)
    jobs = await amqp.get_exchange(f"{platform.env['HB_AMQP_PREFIX']}hirebuddha.jobs")
    results: dict[str, dict[str, Any]] = {}
    arrived = asyncio.Condition()

    async def on_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with arrived:
            results[message.correlation_id or ""] = json.loads(message.body)
            arrived.notify_all()

    await reply.consume(on_reply, no_ack=True)

    async def submit(spec: dict[str, Any]) -> str:
        cid = uuid.uuid4().hex
        await jobs.publish(
            aio_pika.Message(
                spec["body"],
                headers=spec["headers"],
                content_type=spec["content_type"],
                content_encoding=spec["content_encoding"],
                reply_to=reply.name,
                correlation_id=cid,
            ),
            routing_key="submit",
        )
        return cid

    sent = [await submit(spec) for spec in generated_jobs(bot["id"], key, 80)]
    async with asyncio.timeout(60), arrived:
        await arrived.wait_for(lambda: all(cid in results for cid in sent))
    rejected = {cid for cid in sent if results[cid]["status"] == "rejected"}
    expect_dead_letters(correlation_in(rejected), len(rejected), why="rejected generated jobs")
    assert len(rejected) >= 40, f"the generator produced mostly valid jobs: {len(rejected)} rejected"
    for cid in rejected:
        assert results[cid]["error"]["code"] and results[cid]["error"]["message"], results[cid]
    rows = await dead_letters(rejected)
    assert all(row["reason"] for row in rows.values())
    good = await submit(
        {
            "body": json.dumps({"agent_id": bot["id"], "input": "[[reply:3]]"}).encode(),
            "headers": {"x-api-key": key},
            "content_type": "application/json",
            "content_encoding": None,
        }
    )
    async with asyncio.timeout(WAIT), arrived:
        await arrived.wait_for(lambda: good in results)
    assert results[good]["status"] == "completed" and results[good]["output"] == fake_reply(3), results[good]


MALFORMED = {
    "garbage": b"\x00\xff not json",
    "empty": b"",
    "array": b"[1, 2, 3]",
    "wrong types": json.dumps({"execution_id": 5, "tenant_id": [], "agent_id": None}).encode(),
    "huge": b'{"x":"' + b"y" * 2_000_000 + b'"}',
    "unknown tenant": None,  # filled per queue: well-formed, for a tenant that does not exist
}


async def test_malformed_messages_on_the_executions_and_usage_queues_are_dead_lettered(
    platform: Platform, ledger: None, admin: ApiUser, amqp: aio_pika.abc.AbstractChannel, expect_dead_letters
) -> None:
    """Garbage, empty, wrong-shaped, wrongly-typed and 2 MB bodies, put straight onto the
    executions queue (actors) and the usage queue (ledger), plus a well-formed usage event of
    a tenant that does not exist: each lands in dead_letters with a reason, and afterwards a
    chat reply still completes (actors alive) and a good usage event is priced once (ledger
    alive)."""
    prefix = platform.env["HB_AMQP_PREFIX"]
    sent: dict[str, str] = {}
    for queue in ("executions", "usage"):
        for name, body in MALFORMED.items():
            if body is None:
                if queue == "executions":
                    continue
                body = encode(usage(uuid.uuid4(), "no-such-model", 10))
            cid = f"{queue}-{name}-{uuid.uuid4().hex[:6]}"
            sent[cid] = queue
            await amqp.default_exchange.publish(
                aio_pika.Message(
                    body,
                    correlation_id=cid,
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=f"{prefix}hirebuddha.{queue}",
            )
    expect_dead_letters(correlation_in(set(sent)), len(sent), why="malformed messages put on the queues")
    # The module's chats and jobs answer with model 'fake', which has no rate: once this
    # test starts a ledger on the platform, it dead-letters their usage (as it must).
    expect_dead_letters(
        lambda letter: (
            letter.routing_key == f"{prefix}hirebuddha.usage"
            and letter.reason.startswith("no rate for model 'fake'")
        ),
        why="usage of the unpriced fake model",
    )
    rows = await dead_letters(set(sent))
    for cid, row in rows.items():
        assert row["reason"] and row["reason"] != "unknown", (cid, row["reason"])

    session = await open_session(admin, (await fake_agent(admin))["id"])
    async with chat(platform, session, admin.token) as ws:
        final = await ws.reply(await ws.message("[[reply:3]]"))
    assert final["type"] == "execution.completed" and final["text"] == fake_reply(3)

    tenant = await make_tenant()
    event = usage(tenant, await priced_model(), 100, 10)
    for _ in range(2):  # a duplicate too: priced once
        await amqp.default_exchange.publish(
            aio_pika.Message(encode(event), content_type="application/json"),
            routing_key=f"{prefix}hirebuddha.usage",
        )

    async def entries() -> int:
        async with db.scope(system=True):
            return (
                await db.fetchrow("SELECT count(*) AS n FROM ledger_entries WHERE tenant_id = $1", tenant)
            )["n"]

    assert (
        await eventually(entries, lambda n: n >= 2, "the good usage event to be priced") == 2
    )  # input + output
