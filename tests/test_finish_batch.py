"""Batched ends (`actors.store.finish`, SQL `hb_finish_many`; docs/architecture.md, step 7):
the ends of one tenant asked for at once share a statement, yet each writes only while its
attempt owns the execution, a session's reply lands in its history, and one end that breaks
the statement fails alone. Admitted and claimed here in the test process, never published
(no actor runs them)."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from actors import store
from helpers.api import ApiUser, agent, register
from helpers.chat_fixtures import set_max_concurrency
from runtime import db
from runtime.executions import Begun, ExecutionStatus, Outcome, Submission, Verdict, admit_alone

pytestmark = pytest.mark.usefixtures("server")


async def _claimed(admin: ApiUser, n: int) -> list[tuple[uuid.UUID, uuid.UUID, int]]:
    """n executions of the admin's tenant, each in a session of its own, claimed:
    (execution, session, attempt)."""
    tenant, user = uuid.UUID(admin.tenant_id), uuid.UUID(admin.user_id)
    bot = (await agent(admin))["id"]
    await set_max_concurrency(admin.tenant_id, n)
    sessions = []
    for _ in range(n):
        r = await admin.post("/api/v1/sessions", json={"agent_id": bot})
        assert r.status_code == 201, r.text
        sessions.append(uuid.UUID(r.json()["id"]))
    sends = [Submission(uuid.UUID(bot), "q", source="chat", session_id=s) for s in sessions]
    admitted = await asyncio.gather(*(admit_alone(tenant, user, s, uuid.uuid4()) for s in sends))
    assert {a.verdict for a in admitted} == {Verdict.ADMITTED}
    ids = [a.execution_id for a in admitted]
    begun = await asyncio.gather(*(store.begin(i, tenant, wait_turn=False) for i in ids))
    assert all(isinstance(b, Begun) for b in begun)
    attempts = [b.claim.attempt for b in begun if isinstance(b, Begun)]
    return list(zip(ids, sessions, attempts, strict=True))


async def _rows(tenant: uuid.UUID) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str]]:
    async with db.scope(tenant):
        ended = await db.fetch("SELECT id, status FROM executions WHERE tenant_id = $1", tenant)
        said = await db.fetch(
            "SELECT execution_id, content FROM messages WHERE tenant_id = $1 AND role = 'assistant'", tenant
        )
    return {r["id"]: r["status"] for r in ended}, {r["execution_id"]: r["content"] for r in said}


def _done(text: str) -> Outcome:
    return Outcome(ExecutionStatus.COMPLETED, text, {"text": text}, {"input_tokens": 3, "output_tokens": 2})


async def test_concurrent_ends_of_a_tenant_write_each_reply_once_and_only_for_their_attempt(client):
    admin = await register(client)
    tenant = uuid.UUID(admin.tenant_id)
    claimed = await _claimed(admin, 12)
    ends = [
        store.finish(i, tenant, s, attempt if k else attempt + 1, _done(f"reply {k}"))
        for k, (i, s, attempt) in enumerate(claimed)
    ]
    held = await asyncio.gather(*ends)
    # The first one's attempt is not the owner: nothing of it is written; the rest end, and no
    # budget hold is left for them (this tenant has no limits).
    assert held == [None] + [False] * 11
    status, said = await _rows(tenant)
    first = claimed[0][0]
    assert status[first] == "running" and first not in said
    for k, (i, _, _) in enumerate(claimed[1:], start=1):
        assert status[i] == "completed" and said[i] == f"reply {k}"
    # Ending again (a redelivered attempt that lost the race) writes nothing.
    assert await store.finish(claimed[1][0], tenant, claimed[1][1], claimed[1][2], _done("again")) is None
    assert (await _rows(tenant))[1][claimed[1][0]] == "reply 1"


async def test_an_end_that_breaks_the_statement_fails_alone(client):
    admin = await register(client)
    tenant = uuid.UUID(admin.tenant_id)
    claimed = await _claimed(admin, 4)
    broken = Outcome(ExecutionStatus.FAILED, "", {}, None, error="bad \x00 byte")  # PostgreSQL refuses NUL
    ends = [
        store.finish(i, tenant, s, attempt, broken if k == 2 else _done(f"reply {k}"))
        for k, (i, s, attempt) in enumerate(claimed)
    ]
    answers = await asyncio.gather(*ends, return_exceptions=True)
    assert isinstance(answers[2], asyncpg.PostgresError)
    assert [a for k, a in enumerate(answers) if k != 2] == [False] * 3
    status, said = await _rows(tenant)
    assert status[claimed[2][0]] == "running"
    assert [status[claimed[k][0]] for k in (0, 1, 3)] == ["completed"] * 3
    assert [said[claimed[k][0]] for k in (0, 1, 3)] == ["reply 0", "reply 1", "reply 3"]


async def test_an_end_cancelled_before_its_batch_is_sent_writes_nothing(client):
    admin = await register(client)
    tenant = uuid.UUID(admin.tenant_id)
    [(execution, session, attempt)] = await _claimed(admin, 1)
    # Ends of unknown executions fill the tenant's batches in flight (each answers None), so
    # the real one waits for a later batch; it is cancelled there (a hand-back).
    fillers = [
        asyncio.create_task(store.finish(uuid.uuid4(), tenant, None, 1, _done("x")))
        for _ in range(store.BATCH_MAX * store.BATCHES_IN_FLIGHT)
    ]
    late = asyncio.create_task(store.finish(execution, tenant, session, attempt, _done("late")))
    await asyncio.sleep(0)  # every task queued its end
    await asyncio.sleep(0)  # the flush sent the full batches; `late` still waits
    late.cancel()
    assert await asyncio.gather(*fillers) == [None] * len(fillers)
    with pytest.raises(asyncio.CancelledError):
        await late
    status, said = await _rows(tenant)
    assert status[execution] == "running" and execution not in said
    # The attempt still owns its execution: its end, asked again, is written.
    assert await store.finish(execution, tenant, session, attempt, _done("again")) is False
    assert (await _rows(tenant))[1][execution] == "again"
