"""Per-tenant fairness and tier lanes (web.jobs "Fairness and priority")."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter

import aio_pika
from test_jobs import api_key

from helpers.api import ApiUser
from helpers.chat_fixtures import fake_agent, set_max_concurrency
from helpers.platform import AMQP_URL, Platform
from runtime import db

FREE_BURST = 1000
PRO_JOBS = 20


async def set_tier(tenant_id: str, tier: str) -> None:
    async with db.scope(system=True):
        await db.execute("UPDATE tenants SET tier = $1 WHERE id = $2", tier, uuid.UUID(tenant_id))


async def test_a_free_tenants_burst_does_not_hold_back_a_pro_tenants_jobs(
    platform: Platform, admin: ApiUser
) -> None:
    """1,000 free jobs, then 20 pro jobs, published at once (each job ~100 ms of LLM time).

    Bound asserted: every pro job has completed while the free tenant has finished fewer
    than half of its burst (FIFO through one queue would finish all 1,000 first), and
    within 60 s.
    """
    from helpers.api import register

    free, pro = admin, await register(admin.client)
    await set_tier(pro.tenant_id, "pro")
    for tenant in (free, pro):
        await set_max_concurrency(tenant.tenant_id, 4)
    free_bot, pro_bot = await fake_agent(free), await fake_agent(pro)
    free_key, pro_key = await api_key(free), await api_key(pro)
    prefix = platform.env["HB_AMQP_PREFIX"]
    done: Counter[str] = Counter()
    pro_finished = asyncio.Event()
    async with await aio_pika.connect_robust(AMQP_URL) as connection:
        channel = await connection.channel()
        results = await channel.declare_queue(exclusive=True)
        for tenant in (free, pro):
            await results.bind(f"{prefix}hirebuddha.results", routing_key=f"tenant.{tenant.tenant_id}")

        async def on_result(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            body = json.loads(message.body)
            assert body["status"] == "completed", body
            tenant = message.routing_key.removeprefix("tenant.")
            done[tenant] += 1
            if done[pro.tenant_id] == PRO_JOBS:
                pro_finished.set()

        await results.consume(on_result, no_ack=True)
        jobs = await channel.get_exchange(f"{prefix}hirebuddha.jobs")

        async def publish(key: str, agent_id: str) -> None:
            body = json.dumps({"agent_id": agent_id, "input": "[[reply:50]]"}).encode()
            message = aio_pika.Message(
                body,
                content_type="application/json",
                headers={"x-api-key": key},
                correlation_id=uuid.uuid4().hex,
            )
            await jobs.publish(message, routing_key="submit")

        await asyncio.gather(*(publish(free_key, free_bot["id"]) for _ in range(FREE_BURST)))
        await asyncio.gather(*(publish(pro_key, pro_bot["id"]) for _ in range(PRO_JOBS)))
        await asyncio.wait_for(pro_finished.wait(), 60)
        free_done = done[free.tenant_id]
    assert free_done < FREE_BURST // 2, f"pro finished only after {free_done} free jobs"
    async with db.scope(uuid.UUID(free.tenant_id)):
        waiting = await db.fetchrow(
            "SELECT count(*) FILTER (WHERE status IN ('pending', 'running')) AS admitted, "
            "count(*) FILTER (WHERE status = 'queued') AS queued FROM executions WHERE tenant_id = $1",
            uuid.UUID(free.tenant_id),
        )
    assert waiting["admitted"] <= 4, "a tenant never has more than max_concurrency admitted"
    assert waiting["queued"] > 0, "the rest of the burst waits in the tenant's own backlog"
