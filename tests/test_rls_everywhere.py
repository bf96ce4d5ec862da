"""Every table that holds a tenant's data is under forced row-level security.

The list comes from the database itself (information_schema), not from a list in the code,
so a table added later with a `tenant_id` column and no policy fails here.
"""

from __future__ import annotations

import uuid

import pytest

from helpers.api import app_admin, register
from helpers.dead_letters import body_has
from runtime import db
from runtime.tables import TENANT_TABLES, DeadLetter

# Tables with a tenant_id that are not one tenant's data, and why.
NOT_TENANT_DATA: dict[str, str] = {}


async def _tables_with_tenant_id() -> list[str]:
    async with db.scope():
        rows = await db.fetch(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY table_name"
        )
    return [r["table_name"] for r in rows]


async def test_every_table_with_a_tenant_id_has_a_forced_policy(database):
    tables = await _tables_with_tenant_id()
    assert "dead_letters" in tables and "executions" in tables  # the query sees the schema
    async with db.scope():
        rows = await db.fetch(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "  (SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname) AS policies "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relname = ANY($1)",
            tables,
        )
    missing = [
        r["relname"]
        for r in rows
        if r["relname"] not in NOT_TENANT_DATA
        and not (r["relrowsecurity"] and r["relforcerowsecurity"] and r["policies"] > 0)
    ]
    assert missing == [], f"tables with tenant_id but no forced row-level security: {missing}"


async def test_the_code_list_of_tenant_tables_matches_the_schema(database):
    in_schema = [t for t in await _tables_with_tenant_id() if t not in NOT_TENANT_DATA]
    assert sorted(TENANT_TABLES) == sorted(in_schema)


@pytest.fixture
async def tenant_dead_letter(database, expect_dead_letters):
    tenant = uuid.uuid4()
    body = f'{{"secret": "theirs", "tenant": "{tenant}"}}'.encode()
    expect_dead_letters(body_has(str(tenant)), 1, why="a tenant's dead letter written to test RLS")
    row = DeadLetter(reason="test: tenant payload", body=body, tenant_id=tenant)
    async with db.scope(system=True):
        await DeadLetter.insert(row)
    return tenant, row.id


async def test_a_tenant_scope_sees_only_its_own_dead_letters(tenant_dead_letter):
    tenant, dead_id = tenant_dead_letter
    async with db.scope(uuid.uuid4()):
        assert await db.fetch("SELECT id FROM dead_letters WHERE id = $1", dead_id) == []
    async with db.scope():
        assert await db.fetch("SELECT id FROM dead_letters WHERE id = $1", dead_id) == []
    async with db.scope(tenant):
        assert len(await db.fetch("SELECT id FROM dead_letters WHERE id = $1", dead_id)) == 1


async def test_the_app_admin_still_lists_every_tenants_dead_letters(client, tenant_dead_letter):
    _, dead_id = tenant_dead_letter
    admin = await app_admin(client)
    listed = await admin.get("/api/v1/admin/dead-letters", params={"limit": 500})
    assert listed.status_code == 200
    assert str(dead_id) in {d["id"] for d in listed.json()}
    tenant = await register(client, "Dead letter reader")
    # A tenant admin has no route to dead letters at all.
    assert (await tenant.get("/api/v1/admin/dead-letters")).status_code == 403
