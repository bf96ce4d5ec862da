"""Batched admission (`runtime.executions.admit_alone`, SQL `hb_admit_batch`; docs/limits.md
"The admission lock"): concurrent sends of one tenant share a statement, yet the slot limit
stays exact, a retried client_id in the same batch is one execution, and one send that breaks
the statement fails alone. Admitted here in the test process, never published (no actor runs
them); the executions are cancelled at the end."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from helpers.api import ApiUser, agent, register
from helpers.chat_fixtures import set_max_concurrency
from runtime import db
from runtime.executions import Submission, Verdict, admit_alone

pytestmark = pytest.mark.usefixtures("server")


async def _session(admin: ApiUser, agent_id: str) -> uuid.UUID:
    r = await admin.post("/api/v1/sessions", json={"agent_id": agent_id})
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


async def _active(tenant_id: uuid.UUID) -> dict[str, int]:
    async with db.scope(tenant_id):
        rows = await db.fetch(
            "SELECT status, count(*) AS n FROM executions WHERE tenant_id = $1 GROUP BY status", tenant_id
        )
    return {r["status"]: r["n"] for r in rows}


async def _cancel_all(tenant_id: uuid.UUID) -> None:
    async with db.scope(tenant_id):
        await db.execute(
            "UPDATE executions SET status = 'cancelled', completed_at = now() "
            "WHERE tenant_id = $1 AND status IN ('queued', 'pending')",
            tenant_id,
        )


async def test_concurrent_sends_of_a_tenant_take_exactly_its_free_slots(client):
    admin = await register(client)
    tenant, user = uuid.UUID(admin.tenant_id), uuid.UUID(admin.user_id)
    bot = uuid.UUID((await agent(admin))["id"])
    await set_max_concurrency(admin.tenant_id, 3)
    try:
        sends = [Submission(bot, f"job {i}", source="rest") for i in range(30)]
        answers = await asyncio.gather(*(admit_alone(tenant, user, s, uuid.uuid4()) for s in sends))
        verdicts = [a.verdict for a in answers]
        assert verdicts.count(Verdict.ADMITTED) == 3 and verdicts.count(Verdict.RATE_LIMITED) == 27
        assert all(a.slot_limit == 3 for a in answers if a.verdict == Verdict.RATE_LIMITED)
        # Waiting sends are queued behind the full slots, none admitted past the limit.
        waiting = [Submission(bot, f"wait {i}", source="queue", wait_for_slot=True) for i in range(10)]
        queued = await asyncio.gather(*(admit_alone(tenant, user, s, uuid.uuid4()) for s in waiting))
        assert {(a.verdict, a.status) for a in queued} == {(Verdict.ADMITTED, "queued")}
        assert await _active(tenant) == {"pending": 3, "queued": 10}
    finally:
        await _cancel_all(tenant)


async def test_a_client_id_sent_twice_at_once_is_one_execution(client):
    admin = await register(client)
    tenant, user = uuid.UUID(admin.tenant_id), uuid.UUID(admin.user_id)
    bot = (await agent(admin))["id"]
    session = await _session(admin, bot)
    try:
        send = Submission(uuid.UUID(bot), "hello", source="chat", session_id=session, client_id="c-1")
        twice = (admit_alone(tenant, user, send, uuid.uuid4()) for _ in range(2))
        first, second = await asyncio.gather(*twice)
        assert {first.verdict, second.verdict} == {Verdict.ADMITTED, Verdict.DUPLICATE}
        assert first.execution_id == second.execution_id and first.message_id == second.message_id
        assert (await _active(tenant)).get("pending") == 1
    finally:
        await _cancel_all(tenant)


async def test_a_send_that_breaks_the_batch_fails_alone(client):
    admin = await register(client)
    tenant, user = uuid.UUID(admin.tenant_id), uuid.UUID(admin.user_id)
    bot = (await agent(admin))["id"]
    session = await _session(admin, bot)
    try:
        good = [
            Submission(uuid.UUID(bot), f"hi {i}", source="chat", session_id=session, client_id=f"g-{i}")
            for i in range(5)
        ]
        broken = Submission(uuid.UUID(bot), "lost", source="chat", session_id=uuid.uuid4(), client_id="b")
        answers = await asyncio.gather(
            *(admit_alone(tenant, user, s, uuid.uuid4()) for s in [*good[:2], broken, *good[2:]]),
            return_exceptions=True,
        )
        assert isinstance(answers[2], asyncpg.ForeignKeyViolationError), answers[2]
        ok = [a for i, a in enumerate(answers) if i != 2]
        assert all(not isinstance(a, BaseException) and a.verdict == Verdict.ADMITTED for a in ok), ok
        assert (await _active(tenant)).get("pending") == 5
    finally:
        await _cancel_all(tenant)


async def test_a_batch_counts_the_slots_once_and_carries_them_in_order(client):
    """`hb_admit_batch` counts the tenant's active executions before its first item and
    carries the count (migration 2026_12_02t10): with 2 of 5 slots taken, six waiting sends
    sent at once start the first three and queue the other three, in the order sent."""
    admin = await register(client)
    tenant, user = uuid.UUID(admin.tenant_id), uuid.UUID(admin.user_id)
    bot = uuid.UUID((await agent(admin))["id"])
    await set_max_concurrency(admin.tenant_id, 5)
    try:
        for i in range(2):  # taken before the batch: counted, not carried
            send = Submission(bot, f"early {i}", source="rest")
            earlier = await admit_alone(tenant, user, send, uuid.uuid4())
            assert (earlier.verdict, earlier.status) == (Verdict.ADMITTED, "pending")
        sends = [Submission(bot, f"wait {i}", source="queue", wait_for_slot=True) for i in range(6)]
        answers = await asyncio.gather(*(admit_alone(tenant, user, s, uuid.uuid4()) for s in sends))
        assert [(a.verdict, a.status) for a in answers] == [(Verdict.ADMITTED, "pending")] * 3 + [
            (Verdict.ADMITTED, "queued")
        ] * 3
        # Over the limit, a send that may not wait is refused and takes nothing.
        refused = await admit_alone(tenant, user, Submission(bot, "no wait", source="rest"), uuid.uuid4())
        assert refused.verdict == Verdict.RATE_LIMITED and refused.slot_limit == 5
        assert await _active(tenant) == {"pending": 5, "queued": 3}
    finally:
        await _cancel_all(tenant)
