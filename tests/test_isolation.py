"""Tenant isolation at both layers: code scoping (REST 404s) and PostgreSQL row-level security."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from helpers.api import agent, app_admin, login, member, partner, register, resold_tenant
from runtime import db
from runtime.tables import TENANT_TABLES


@pytest.fixture
async def two_tenants(client):
    a, b = await register(client, "Tenant A"), await register(client, "Tenant B")
    return a, b, await agent(a, name="A's agent"), await agent(b, name="B's agent")


async def test_app_role_is_not_owner_superuser_or_rls_bypassing(database):
    async with db.scope():
        row = await db.fetchrow(
            "SELECT rolsuper, rolbypassrls, current_user AS me FROM pg_roles WHERE rolname = current_user"
        )
        owned = await db.fetchrow(
            "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
        )
    assert row["me"] == "hirebuddha_app"
    assert not row["rolsuper"] and not row["rolbypassrls"]
    assert owned["n"] == 0


async def test_every_tenant_table_has_forced_rls(database):
    async with db.scope():
        rows = await db.fetch(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY($1)",
            [*TENANT_TABLES, "tenants"],
        )
    assert len(rows) == len(TENANT_TABLES) + 1
    for r in rows:
        assert r["relrowsecurity"] and r["relforcerowsecurity"], f"{r['relname']} lacks forced RLS"


async def test_raw_select_in_tenant_scope_sees_only_that_tenant(two_tenants):
    a, b, agent_a, agent_b = two_tenants
    async with db.scope(a.tenant_id):
        rows = await db.fetch("SELECT id, tenant_id FROM agents")
    ids = {str(r["id"]) for r in rows}
    assert agent_a["id"] in ids and agent_b["id"] not in ids
    assert {str(r["tenant_id"]) for r in rows} == {a.tenant_id}


async def test_unscoped_queries_see_no_tenant_rows(two_tenants):
    async with db.scope():
        assert await db.fetch("SELECT id FROM agents") == []
        assert await db.fetch("SELECT id FROM users") == []
    # Outside any transaction, on a pooled connection that ran scoped work before, too.
    from runtime.tables import Agent

    assert await Agent.select(Agent.id) == []


async def test_scope_does_not_leak_to_the_next_transaction_on_a_pooled_connection(two_tenants):
    a, *_ = two_tenants
    async with db.scope(a.tenant_id):
        assert await db.fetch("SELECT id FROM agents")
    for _ in range(12):  # more than the pool size: every connection is checked
        async with db.scope():
            row = await db.fetchrow("SELECT current_setting('app.tenant_id', true) AS t")
            assert row["t"] in ("", None)
            assert await db.fetch("SELECT id FROM agents") == []


async def test_inserting_a_row_for_another_tenant_is_refused(two_tenants):
    a, b, *_ = two_tenants
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with db.scope(a.tenant_id):
            await db.execute(
                "INSERT INTO agents (id, tenant_id, name, role, llm_config, double_texting, is_active, "
                "created_at, updated_at) VALUES ($1, $2, 'x', 'x', $3, 'enqueue', true, now(), now())",
                uuid.uuid4(),
                uuid.UUID(b.tenant_id),
                json.dumps({"model": "demo-1"}),
            )


async def test_updating_another_tenants_rows_changes_nothing(two_tenants):
    a, b, _, agent_b = two_tenants
    async with db.scope(a.tenant_id):
        status = await db.execute("UPDATE agents SET name = 'pwned' WHERE id = $1", uuid.UUID(agent_b["id"]))
        deleted = await db.execute("DELETE FROM agents WHERE id = $1", uuid.UUID(agent_b["id"]))
    assert status == "UPDATE 0" and deleted == "DELETE 0"
    # Moving one's own rows into another tenant is refused by WITH CHECK.
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with db.scope(a.tenant_id):
            await db.execute("UPDATE agents SET tenant_id = $1", uuid.UUID(b.tenant_id))


async def test_rest_ids_of_another_tenant_answer_404(two_tenants, client):
    a, b, _, agent_b = two_tenants
    assert (await a.get(f"/api/v1/agents/{agent_b['id']}")).status_code == 404
    assert (await a.patch(f"/api/v1/agents/{agent_b['id']}", json={"name": "x"})).status_code == 404
    assert (await a.delete(f"/api/v1/agents/{agent_b['id']}")).status_code == 404
    assert (await a.patch(f"/api/v1/tenant/users/{b.user_id}", json={"full_name": "x"})).status_code == 404
    assert (await a.delete(f"/api/v1/tenant/users/{b.user_id}")).status_code == 404
    key = (await b.post("/api/v1/tenant/api-keys", json={"name": "b"})).json()
    assert (await a.delete(f"/api/v1/tenant/api-keys/{key['id']}")).status_code == 404
    session_b = (await b.post("/api/v1/sessions", json={"agent_id": agent_b["id"]})).json()
    assert (await a.get(f"/api/v1/sessions/{session_b['id']}/messages")).status_code == 404
    assert (await a.post("/api/v1/sessions", json={"agent_id": agent_b["id"]})).status_code == 404
    listed = {x["id"] for x in (await a.get("/api/v1/agents")).json()}
    assert agent_b["id"] not in listed
    users = {x["id"] for x in (await a.get("/api/v1/tenant/users")).json()}
    assert b.user_id not in users


async def test_a_user_sees_only_their_own_sessions(two_tenants):
    a, _, agent_a, _ = two_tenants
    u1, u2 = await member(a), await member(a)
    s1 = (await u1.post("/api/v1/sessions", json={"agent_id": agent_a["id"]})).json()
    assert (await u2.get(f"/api/v1/sessions/{s1['id']}/messages")).status_code == 404
    assert s1["id"] not in {s["id"] for s in (await u2.get("/api/v1/sessions")).json()}
    assert s1["id"] in {s["id"] for s in (await a.get("/api/v1/sessions")).json()}


async def test_partner_reads_its_tenants_but_never_their_agents(client):
    root = await app_admin(client)
    p = await partner(root)
    other = await partner(root)
    created, resold_email = await resold_tenant(p, "Resold")
    tenant_id = created["id"]
    assert tenant_id in {t["id"] for t in (await p.get("/api/v1/partner/tenants")).json()}
    assert tenant_id not in {t["id"] for t in (await other.get("/api/v1/partner/tenants")).json()}
    r = await other.patch(f"/api/v1/partner/tenants/{tenant_id}", json={"status": "suspended"})
    assert r.status_code == 404

    resold = await login(client, resold_email)
    assert resold.tenant_id == tenant_id
    resold_agent = await agent(resold)
    assert (await resold.post("/api/v1/sessions", json={"agent_id": resold_agent["id"]})).status_code == 201

    # Database layer: in the partner's scope, agents and sessions of its tenants are invisible.
    partner_id = p.extra["partner"]["id"]
    async with db.scope(partner_id=partner_id):
        tenants = await db.fetch("SELECT id FROM tenants")
        agents = await db.fetch("SELECT id FROM agents")
        messages = await db.fetch("SELECT id FROM messages")
        users = await db.fetch("SELECT id FROM users")
    assert tenant_id in {str(t["id"]) for t in tenants}
    sessions = await _count_in_scope(partner_id, "sessions")
    assert agents == [] and messages == [] and sessions == 0
    assert users, "partners see who the admins of their tenants are"


async def _count_in_scope(partner_id: str, table: str) -> int:
    async with db.scope(partner_id=partner_id):
        return (await db.fetchrow(f"SELECT count(*) AS n FROM {table}"))["n"]
