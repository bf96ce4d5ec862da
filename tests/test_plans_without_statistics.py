"""The claim and the end read an execution by key, not its tenant's whole range, even where
the planner has no statistics to go by (migration `plans_without_statistics`; README
"Performance"). Counted with PostgreSQL's own per-transaction counters: the rows the
statement fetched from `executions`, beside how many executions the tenant has."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from helpers.api import agent as make_agent
from helpers.api import register
from helpers.chat_fixtures import set_max_concurrency
from runtime import db
from runtime.executions import HISTORY_LIMIT, Submission, Verdict, admit_alone

pytestmark = pytest.mark.usefixtures("server")

OTHERS = 1500
"""Executions of the tenant beside the one claimed: each would be read by a range scan."""


async def _fetched() -> int:
    """Rows of `executions` this transaction has read so far (sequential and through indexes)."""
    row = await db.fetchrow(
        "SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) AS n "
        "FROM pg_stat_xact_user_tables WHERE relname = 'executions'"
    )
    assert row is not None
    return int(row["n"])


async def test_a_claim_and_an_end_read_their_own_rows_not_the_tenants_range(client):
    admin = await register(client)
    tenant, user = uuid.UUID(admin.tenant_id), uuid.UUID(admin.user_id)
    bot = uuid.UUID((await make_agent(admin))["id"])
    await set_max_concurrency(admin.tenant_id, OTHERS + 10)
    r = await admin.post("/api/v1/sessions", json={"agent_id": str(bot)})
    assert r.status_code == 201, r.text
    session = uuid.UUID(r.json()["id"])
    others = [Submission(bot, f"job {k}", source="rest") for k in range(OTHERS)]
    admitted = await asyncio.gather(*(admit_alone(tenant, user, s, uuid.uuid4()) for s in others))
    assert {a.verdict for a in admitted} == {Verdict.ADMITTED}
    mine = uuid.uuid4()
    chat = Submission(bot, "hello", source="chat", session_id=session)
    assert (await admit_alone(tenant, user, chat, mine)).verdict == Verdict.ADMITTED

    async with db.scope(tenant):
        before = await _fetched()
        [claim] = await db.fetch(
            "SELECT o_id, o_busy, o_attempt, o_turns FROM hb_begin_many($1, $2, $3, $4)",
            tenant,
            [mine],
            [True],
            HISTORY_LIMIT,
        )
        claimed = await _fetched() - before
        assert (claim["o_id"], claim["o_busy"], claim["o_attempt"]) == (mine, False, 1)
        assert "hello" in claim["o_turns"]  # the history was read (by the session, not the tenant)
        before = await _fetched()
        [end] = await db.fetch(
            "SELECT o_id FROM hb_finish_many($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            tenant,
            [mine],
            [1],
            ["completed"],
            ['{"text": "hi"}'],
            ["null"],
            [None],
            [session],
            ["hi"],
        )
        ended = await _fetched() - before
        assert end["o_id"] == mine
    # A handful of rows each (the execution, its session's turn check and history), never the
    # tenant's 1,501: the old plans read the whole range once per id, and again per join.
    assert claimed <= 10, (claimed, OTHERS)
    assert ended <= 5, (ended, OTHERS)
