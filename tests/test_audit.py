"""The audit trail: every admin action is recorded, the rows are append-only like the ledger,
app admins read everything and tenant admins their own tenant, with filters and a cursor.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest

from helpers.api import ApiUser, app_admin, member, partner, register, system_rate
from runtime import db

# Unpriced, so created switched off (an active model needs rates).
MODEL = {"model_key": "", "provider": "openai", "model_name": "Audited model", "is_active": False}


async def actions(who: ApiUser, url: str, **params) -> list[dict]:
    r = await who.get(url, params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_admin_actions_including_model_creation_are_recorded_and_listed(client):
    root = await app_admin(client)
    tenant = await register(client, "Audited Co")
    key = f"audit-{uuid.uuid4().hex[:6]}"
    r = await root.post("/api/v1/admin/models", json={**MODEL, "model_key": key})
    assert r.status_code == 201, r.text
    r = await root.patch(f"/api/v1/admin/tenants/{tenant.tenant_id}", json={"max_concurrency": 7})
    assert r.status_code == 200, r.text
    assert (await tenant.post("/api/v1/tenant/webhook-secret/rotate")).status_code == 200
    colleague = await member(tenant)
    assert (await tenant.delete(f"/api/v1/tenant/users/{colleague.user_id}")).status_code == 204

    mine = await actions(root, "/api/v1/admin/audit", actor=root.user_id, action="model.create")
    created = [e for e in mine if e["details"].get("model_key") == key]
    assert len(created) == 1 and created[0]["actor_email"] == root.email
    assert created[0]["tenant_id"] is None and created[0]["target_type"] == "ai_model"

    seen = [e["action"] for e in await actions(tenant, "/api/v1/tenant/audit")]
    for action in (
        "tenant.update",
        "tenant.webhook_secret_rotate",
        "tenant.user_update",
        "tenant.user_create",
    ):
        assert action in seen, (action, seen)
    assert "model.create" not in seen  # platform rows are not the tenant's
    # A prefix filter, newest first.
    prefixed = await actions(tenant, "/api/v1/tenant/audit", action="tenant.")
    assert prefixed and all(e["action"].startswith("tenant.") for e in prefixed)
    times = [e["created_at"] for e in prefixed]
    assert times == sorted(times, reverse=True)


async def test_a_tenant_admin_never_sees_another_tenants_trail(client):
    a, b = await register(client, "Trail A"), await register(client, "Trail B")
    await a.post("/api/v1/tenant/webhook-secret/rotate")
    await b.post("/api/v1/tenant/webhook-secret/rotate")
    for row in await actions(a, "/api/v1/tenant/audit"):
        assert row["tenant_id"] == a.tenant_id
    # An app admin may narrow to one tenant.
    root = await app_admin(client)
    rows = await actions(root, "/api/v1/admin/audit", tenant_id=b.tenant_id)
    assert rows and {r["tenant_id"] for r in rows} == {b.tenant_id}
    assert (await a.get("/api/v1/admin/audit")).status_code == 403
    assert (await (await member(a)).get("/api/v1/tenant/audit")).status_code == 403


async def test_time_window_and_cursor_page_through_the_trail_without_gaps(client):
    tenant = await register(client, "Paged Co")
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    for _ in range(5):
        assert (await tenant.post("/api/v1/tenant/webhook-secret/rotate")).status_code == 200
    params = {"action": "tenant.webhook_secret_rotate", "from": start.isoformat(), "limit": 2}
    pages, cursor = [], None
    while True:
        r = await tenant.get(
            "/api/v1/tenant/audit", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        assert r.status_code == 200, r.text
        pages.append([e["id"] for e in r.json()["items"]])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    ids = [i for page in pages for i in page]
    assert [len(p) for p in pages] == [2, 2, 1] and len(set(ids)) == 5
    before = await actions(
        tenant, "/api/v1/tenant/audit", to=start.isoformat(), action="tenant.webhook_secret_rotate"
    )
    assert before == []
    bad = await tenant.get("/api/v1/tenant/audit", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "bad_cursor"


@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log", "TRUNCATE audit_log"],
)
async def test_the_trail_is_append_only_even_in_the_system_scope(database, sql):
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with db.scope(system=True):
            await db.execute(sql)


async def test_even_the_owner_cannot_rewrite_the_trail(database):
    from runtime.settings import get_settings

    conn = await asyncpg.connect(get_settings().db.url)
    try:
        # A row of its own first: a row trigger does not fire for a DELETE of zero rows.
        await conn.execute(
            "INSERT INTO audit_log (id, action, details) VALUES (gen_random_uuid(), 'test.row', '{}')"
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute("DELETE FROM audit_log")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute("TRUNCATE audit_log")
    finally:
        await conn.close()


async def test_a_partners_price_change_is_recorded_for_the_app_admin(client):
    root = await app_admin(client)
    p = await partner(root)
    model = f"audit-rate-{uuid.uuid4().hex[:6]}"
    rate = await system_rate(root, model)
    assert rate.status_code == 201, rate.text
    r = await p.put("/api/v1/partner/rates", json=[{"system_rate_id": rate.json()["id"], "rate": "0.3"}])
    assert r.status_code == 200, r.text
    rows = await actions(root, "/api/v1/admin/audit", actor=p.user_id, action="partner.rates_update")
    assert len(rows) == 1 and rows[0]["details"]["system_rate_ids"] == [rate.json()["id"]]
