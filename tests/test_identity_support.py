"""Partner support access: a tenant admin grants its partner time-limited read access to
agents and sessions; every read is audited in the tenant's trail; revocable; expires."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import expect
from test_spa_browser import sign_in

from helpers.api import agent, app_admin, login, partner, register, resold_tenant
from helpers.browser import PHONE, no_horizontal_scroll, tab
from runtime import db

pytestmark = pytest.mark.usefixtures("server")


@pytest.fixture
async def world(client):
    root = await app_admin(client)
    reseller = await partner(root)
    body, address = await resold_tenant(reseller)
    admin = await login(client, address)
    bot = await agent(admin, name="Support me")
    r = await admin.post("/api/v1/sessions", json={"agent_id": bot["id"], "title": "Hello"})
    assert r.status_code == 201, r.text
    return {"root": root, "partner": reseller, "admin": admin, "tenant_id": body["id"], "session": r.json()}


async def _reads(partner_admin, tenant_id: str, session_id: str) -> list[int]:
    paths = [
        f"/api/v1/partner/support/{tenant_id}/agents",
        f"/api/v1/partner/support/{tenant_id}/sessions",
        f"/api/v1/partner/support/{tenant_id}/sessions/{session_id}/messages",
    ]
    return [(await partner_admin.get(p)).status_code for p in paths]


async def test_reads_need_a_live_grant_and_each_one_is_audited(world):
    reseller, admin, tenant_id = world["partner"], world["admin"], world["tenant_id"]
    session_id = world["session"]["id"]
    assert await _reads(reseller, tenant_id, session_id) == [404, 404, 404]

    r = await admin.post("/api/v1/tenant/support-access", json={"hours": 2})
    assert r.status_code == 201, r.text
    grant = r.json()
    assert grant["active"] is True and grant["partner_id"] == reseller.extra["partner"]["id"]

    assert await _reads(reseller, tenant_id, session_id) == [200, 200, 200]
    agents = (await reseller.get(f"/api/v1/partner/support/{tenant_id}/agents")).json()
    assert [a["name"] for a in agents] == ["Support me"]
    sessions = (await reseller.get(f"/api/v1/partner/support/{tenant_id}/sessions")).json()
    assert [s["id"] for s in sessions] == [session_id]
    missing = await reseller.get(f"/api/v1/partner/support/{tenant_id}/sessions/{uuid.uuid4()}/messages")
    assert missing.status_code == 404
    held = (await reseller.get("/api/v1/partner/support/grants")).json()
    assert [g["id"] for g in held] == [grant["id"]]

    trail = (await admin.get("/api/v1/tenant/audit", params={"action": "support.read"})).json()["items"]
    reads = sorted(e["details"]["read"] for e in trail)
    assert reads == ["agents", "agents", "messages", "sessions", "sessions"]  # not the 404
    assert {e["actor_user_id"] for e in trail} == {reseller.user_id}

    assert (await admin.delete(f"/api/v1/tenant/support-access/{grant['id']}")).status_code == 204
    assert await _reads(reseller, tenant_id, session_id) == [404, 404, 404]
    listed = (await admin.get("/api/v1/tenant/support-access")).json()
    assert listed[0]["active"] is False and listed[0]["revoked_at"] is not None


async def test_a_grant_expires_and_serves_only_its_own_partner(world, client):
    reseller, admin, tenant_id = world["partner"], world["admin"], world["tenant_id"]
    session_id = world["session"]["id"]
    grant = (await admin.post("/api/v1/tenant/support-access", json={"hours": 1})).json()
    other = await partner(world["root"])
    assert await _reads(other, tenant_id, session_id) == [404, 404, 404]

    async with db.scope(system=True):  # an hour later
        await db.execute(
            "UPDATE support_grants SET expires_at = now() - interval '1 second' WHERE id = $1",
            uuid.UUID(grant["id"]),
        )
    assert await _reads(reseller, tenant_id, session_id) == [404, 404, 404]
    assert (await admin.delete(f"/api/v1/tenant/support-access/{grant['id']}")).status_code == 404


async def test_a_direct_tenant_has_no_partner_to_grant(client):
    admin = await register(client)
    r = await admin.post("/api/v1/tenant/support-access", json={"hours": 1})
    assert r.status_code == 409
    r = await admin.post("/api/v1/tenant/support-access", json={"hours": 10_000})
    assert r.status_code == 400


async def test_the_partner_reads_a_granting_tenant_in_the_console(world, browser, server):
    admin, tenant_id, session = world["admin"], world["tenant_id"], world["session"]
    r = await admin.post("/api/v1/tenant/support-access", json={"hours": 2})
    assert r.status_code == 201, r.text
    async with db.scope(system=True):
        await db.execute(
            "INSERT INTO messages (id, tenant_id, session_id, role, content) VALUES ($1, $2, $3, 'user', $4)",
            uuid.uuid4(),
            uuid.UUID(tenant_id),
            uuid.UUID(session["id"]),
            "My invoice looks wrong",
        )
    for viewport in (None, PHONE):
        async with tab(browser, server, viewport=viewport) as t:
            await sign_in(t, world["partner"].email)
            await t.go("/partner/support")
            await expect(t.page.get_by_role("heading", level=1)).to_have_text("Support access")
            grants = t.page.get_by_role("region", name="Support grants")
            await expect(grants.get_by_text("Resold Co")).to_be_visible()
            await grants.get_by_role("button", name="Open Resold Co").click()
            await expect(
                t.page.get_by_role("region", name="Agents").get_by_text("Support me")
            ).to_be_visible()
            await (
                t.page.get_by_role("region", name="Sessions").get_by_role("button", name="Read Hello").click()
            )
            messages = t.page.get_by_role("region", name="Messages")
            await expect(messages.get_by_text("My invoice looks wrong")).to_be_visible()
            if viewport is PHONE:
                await no_horizontal_scroll(t)
            else:
                await expect(t.page.get_by_role("link", name="Support access")).to_be_visible()
            t.assert_clean()
