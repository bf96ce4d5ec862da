"""The claim, the end and an admission read their rows by key, not their tenant's whole range,
even where the planner has no statistics to go by (migrations `plans_without_statistics` and
`admission_by_key`; README "Performance"). Counted with PostgreSQL's own per-transaction
counters: the rows the statement fetched from a table, beside how many the tenant has."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from helpers.api import agent as make_agent
from helpers.api import register
from helpers.chat_fixtures import set_max_concurrency
from runtime import db
from runtime.executions import HISTORY_LIMIT, Submission, Verdict, _item, admit_alone

pytestmark = pytest.mark.usefixtures("server")

OTHERS = 1500
"""Executions of the tenant beside the one claimed: each would be read by a range scan."""


async def _fetched(table: str = "executions") -> int:
    """Rows of `table` this transaction has read so far (sequential and through indexes)."""
    row = await db.fetchrow(
        "SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) AS n "
        "FROM pg_stat_xact_user_tables WHERE relname = $1",
        table,
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


async def test_an_admission_reads_the_tenants_active_executions_and_its_own_agent_and_user(client):
    """The slot count reads the tenant's active executions, not every one it ever ran; the
    agent and the user are read by key, not by scanning the tenant's agents and users."""
    admin = await register(client)
    tenant, user = uuid.UUID(admin.tenant_id), uuid.UUID(admin.user_id)
    bot = uuid.UUID((await make_agent(admin))["id"])
    r = await admin.post("/api/v1/sessions", json={"agent_id": str(bot)})
    assert r.status_code == 201, r.text
    session = uuid.UUID(r.json()["id"])
    async with db.scope(tenant):
        await db.execute(
            "INSERT INTO executions (id, tenant_id, agent_id, source, status, input_data, attempt, "
            "created_at, updated_at) SELECT gen_random_uuid(), $1, $2, 'rest', 'completed', "
            "'{}'::jsonb, 1, now(), now() FROM generate_series(1, $3)",
            tenant,
            bot,
            OTHERS,
        )
        await db.execute(
            "INSERT INTO agents SELECT (jsonb_populate_record(NULL::agents, to_jsonb(a) "
            "|| jsonb_build_object('id', gen_random_uuid(), 'name', a.name || ' ' || g))).* "
            "FROM agents a, generate_series(1, 300) g WHERE a.id = $1",
            bot,
        )
        await db.execute(
            "INSERT INTO users (id, email, tenant_id) SELECT gen_random_uuid(), "
            "'member-' || g || '-' || $2 || '@example.com', $1 FROM generate_series(1, 300) g",
            tenant,
            str(tenant),
        )

    async def admission_reads() -> dict[str, int]:
        chat = Submission(bot, "hello", source="chat", session_id=session)
        items = json.dumps([_item(user, chat, uuid.uuid4(), budget_free=True)])
        async with db.scope(tenant):
            before = {t: await _fetched(t) for t in ("executions", "agents", "users")}
            [row] = await db.fetch("SELECT outcome FROM hb_admit_batch($1, $2::jsonb)", tenant, items)
            read = {t: await _fetched(t) - n for t, n in before.items()}
            assert row["outcome"] == "admitted"
            raise _RolledBack(read)  # leaves the session idle for the next admission

    for analyzed in (False, True):
        if analyzed:  # with statistics the plans are the planner's other choice: same reads
            await db.OWNER_DB.run_ddl("ANALYZE executions, agents, users", in_pool=False)
        with pytest.raises(_RolledBack) as rolled_back:
            await admission_reads()
        read = rolled_back.value.args[0]
        # No active execution: next to nothing from executions (not the 1,500 ended ones);
        # one agent and one user (not the tenant's 301 of each).
        assert read["executions"] <= 3, (analyzed, read)
        assert read["agents"] <= 2, (analyzed, read)
        assert read["users"] <= 2, (analyzed, read)


class _RolledBack(Exception):
    """Ends a transaction of the test on purpose (its reads in `args[0]`)."""
