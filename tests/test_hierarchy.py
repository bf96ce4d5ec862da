"""The hierarchy APIs: admin -> partners -> tenants -> users, API keys, agents, provider keys."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from helpers.api import PASSWORD, agent, app_admin, email, login, member, partner, register, resold_tenant
from runtime import db


@pytest.fixture
async def root(client):
    return await app_admin(client)


async def test_admin_creates_partner_with_commission_and_partner_admin(root):
    p = await partner(root, commission_pct="12.5", basis="gross")
    body = p.extra["partner"]
    assert body["commission_pct"] == "12.50" and body["commission_basis"] == "gross"
    assert body["admin_user_id"] == p.user_id
    assert p.role == "partner_admin"
    me = (await p.get("/api/v1/me")).json()
    assert me["partner"]["id"] == body["id"]
    assert body["id"] in {x["id"] for x in (await root.get("/api/v1/admin/partners")).json()}


async def test_partner_commission_must_be_a_percentage(root):
    r = await root.post(
        "/api/v1/admin/partners",
        json={"name": "Bad", "admin_email": email(), "admin_password": PASSWORD, "commission_pct": "150"},
    )
    assert r.status_code == 400
    assert "commission_pct" in r.text


async def test_suspending_a_tenant_cuts_off_live_tokens_and_refresh(root, client):
    p = await partner(root)
    tenant, admin_email = await resold_tenant(p)
    assert tenant["status"] == "active" and tenant["admin_user_id"]
    admin = await login(client, admin_email)
    assert (await admin.get("/api/v1/tenant")).status_code == 200

    r = await p.patch(f"/api/v1/partner/tenants/{tenant['id']}", json={"status": "suspended"})
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    # Same access token, next request: reads still work, writes are refused with the reason.
    assert (await admin.get("/api/v1/tenant")).status_code == 200
    r = await admin.post("/api/v1/sessions", json={"agent_id": str(uuid.uuid4())})
    assert r.status_code == 403 and r.json()["code"] == "tenant_suspended", r.text
    assert "Billing" in r.json()["detail"]
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": admin.refresh_token})
    ).status_code == 401  # suspension ended the sessions: sign in again
    relogin = await login(client, admin_email)  # a suspended workspace's admin still signs in
    assert (await relogin.get("/api/v1/tenant/billing/")).json()["tenant_status"] == "suspended"

    r = await p.patch(f"/api/v1/partner/tenants/{tenant['id']}", json={"status": "active"})
    assert r.json()["status"] == "active"
    assert (await login(client, admin_email)).tenant_id == tenant["id"]


async def test_app_admin_sets_tier_concurrency_and_status(root, client):
    t = await register(client)
    r = await root.patch(f"/api/v1/admin/tenants/{t.tenant_id}", json={"tier": "pro", "max_concurrency": 9})
    assert r.status_code == 200 and r.json()["tier"] == "pro" and r.json()["max_concurrency"] == 9
    r = await root.patch(f"/api/v1/admin/tenants/{t.tenant_id}", json={"status": "suspended"})
    assert r.json()["status"] == "suspended"
    assert (await t.get("/api/v1/me")).status_code == 200  # the same rules as a partner's suspension
    r = await t.post("/api/v1/agents", json={"name": "x"})
    assert r.status_code == 403 and r.json()["code"] == "tenant_suspended", r.text
    assert (
        await root.patch(f"/api/v1/admin/tenants/{uuid.uuid4()}", json={"tier": "pro"})
    ).status_code == 404


async def test_tenant_admin_manages_users_and_deactivation_is_immediate(client):
    admin = await register(client)
    user = await member(admin)
    assert user.role == "user"
    assert user.user_id in {u["id"] for u in (await admin.get("/api/v1/tenant/users")).json()}
    assert (await user.get("/api/v1/agents")).status_code == 200

    r = await admin.delete(f"/api/v1/tenant/users/{user.user_id}")
    assert r.status_code == 204
    assert (await user.get("/api/v1/agents")).status_code == 401
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    ).status_code == 401
    r = await admin.patch(f"/api/v1/tenant/users/{user.user_id}", json={"is_active": True})
    assert r.json()["is_active"] is True
    assert (await login(client, user.email)).user_id == user.user_id


async def test_admin_cannot_lock_themselves_out(client):
    admin = await register(client)
    assert (await admin.delete(f"/api/v1/tenant/users/{admin.user_id}")).status_code == 409
    assert (
        await admin.patch(f"/api/v1/tenant/users/{admin.user_id}", json={"role": "user"})
    ).status_code == 409


async def test_api_key_shown_once_stored_hashed_and_revocable(client):
    admin = await register(client)
    r = await admin.post("/api/v1/tenant/api-keys", json={"name": "back office"})
    assert r.status_code == 201
    created = r.json()
    key = created["key"]
    assert key.startswith(f"hb_{created['prefix']}_")
    listed = (await admin.get("/api/v1/tenant/api-keys")).json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0] and key not in (await admin.get("/api/v1/tenant/api-keys")).text
    async with db.scope(admin.tenant_id):
        row = await db.fetchrow("SELECT key_hash FROM api_keys WHERE id = $1", uuid.UUID(created["id"]))
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert (await admin.delete(f"/api/v1/tenant/api-keys/{created['id']}")).status_code == 204
    assert (await admin.get("/api/v1/tenant/api-keys")).json()[0]["revoked_at"] is not None


async def test_agent_crud(client):
    admin = await register(client)
    user = await member(admin)
    schema = {"type": "object", "properties": {"score": {"type": "integer"}}, "required": ["score"]}
    a = await agent(
        admin,
        llm_config={"provider": "openai", "model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 300},
        output_schema=schema,
        double_texting="interrupt",
    )
    assert a["llm_config"] == {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "max_tokens": 300,
    }
    assert a["output_schema"] == schema and a["double_texting"] == "interrupt"
    assert (await user.get(f"/api/v1/agents/{a['id']}")).json()["name"] == "Recruiter"
    assert (await user.patch(f"/api/v1/agents/{a['id']}", json={"name": "x"})).status_code == 403
    r = await admin.patch(f"/api/v1/agents/{a['id']}", json={"name": "Screener", "output_schema": None})
    assert r.status_code == 200 and r.json()["name"] == "Screener" and r.json()["output_schema"] is None
    assert r.json()["llm_config"]["model"] == "gpt-4o-mini"
    assert (await admin.delete(f"/api/v1/agents/{a['id']}")).status_code == 204
    assert (await admin.get(f"/api/v1/agents/{a['id']}")).status_code == 404


async def test_agent_validation_names_the_field(client):
    admin = await register(client)
    bad = [
        ({"name": "x", "role": "r", "llm_config": {"model": "m", "temperature": 5}}, "temperature"),
        ({"name": "x", "role": "r"}, "llm_config"),
        (
            {"name": "x", "role": "r", "llm_config": {"model": "m"}, "output_schema": {"type": "string"}},
            "output_schema",
        ),
        ({"name": "", "role": "r", "llm_config": {"model": "m"}}, "name"),
    ]
    for body, field in bad:
        r = await admin.post("/api/v1/agents", json=body)
        assert r.status_code == 400, f"{body} -> {r.status_code}"
        assert field in r.text, f"error for {body} does not name {field}: {r.text}"


async def test_provider_key_is_encrypted_and_never_returned(root):
    secret = "sk-test-" + uuid.uuid4().hex
    r = await root.put(
        "/api/v1/admin/providers/openai", json={"api_key": secret, "base_url": "http://127.0.0.1:9/v1"}
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["name"], body["has_api_key"], body["base_url"]) == ("openai", True, "http://127.0.0.1:9/v1")
    listing = await root.get("/api/v1/admin/providers")
    assert secret not in listing.text and secret not in r.text
    async with db.scope(system=True):
        row = await db.fetchrow(
            "SELECT value, is_encrypted FROM system_configs WHERE key = 'provider.openai.api_key'"
        )
    assert row["is_encrypted"] and secret not in row["value"]
    from runtime import provider_config

    async with db.scope(system=True):
        config = await provider_config.load("openai")
    assert config.api_key == secret and secret not in repr(config)
    # A new provider needs its endpoint: a key alone names nothing to call.
    assert (await root.put("/api/v1/admin/providers/nope", json={"api_key": "x"})).status_code == 400


async def test_rates_are_versioned_never_edited(root):
    model = f"m-{uuid.uuid4().hex[:6]}"
    body = {
        "model": model,
        "resource_type": "input_tokens",
        "unit": "1m_tokens",
        "cost_rate": "0.150000",
        "billing_rate": "0.300000",
    }
    first = (await root.post("/api/v1/admin/rates", json=body)).json()
    second = (await root.post("/api/v1/admin/rates", json={**body, "cost_rate": "0.2"})).json()
    rows = [x for x in (await root.get("/api/v1/admin/rates")).json() if x["model"] == model]
    by_id = {x["id"]: x for x in rows}
    assert by_id[first["id"]]["valid_to"] == second["valid_from"]
    assert by_id[second["id"]]["valid_to"] is None and by_id[first["id"]]["cost_rate"] == "0.150000"

    p = await partner(root)
    r = await p.put("/api/v1/partner/rates", json=[{"system_rate_id": second["id"], "rate": "0.45"}])
    assert r.status_code == 200, r.text
    mine = next(x for x in r.json() if x["system_rate_id"] == second["id"])
    assert mine["rate"] == "0.450000" and mine["billing_rate"] == "0.300000"
    r = await p.put("/api/v1/partner/rates", json=[{"system_rate_id": first["id"], "rate": "0.45"}])
    assert r.status_code == 404  # retired version
    r = await p.put("/api/v1/partner/rates", json=[{"system_rate_id": second["id"], "rate": "-1"}])
    assert r.status_code == 400


async def test_partner_earnings_start_at_zero(root):
    p = await partner(root)
    r = await p.get("/api/v1/partner/earnings", params={"from": "2020-01-01T00:00:00Z"})
    assert r.status_code == 200
    body = r.json()
    assert body["total_commission"] == "0"
    assert [t["name"] for t in body["tenants"]] == [f"{p.extra['partner']['name']} (partner)"]


async def test_a_suspended_tenants_api_key_is_refused_tenant_suspended_on_rest_and_openai(root, client):
    t = await register(client)
    created = await t.post("/api/v1/tenant/api-keys", json={"name": "ci"})
    assert created.status_code == 201, created.text
    key = {"authorization": f"Bearer {created.json()['key']}"}
    r = await root.patch(f"/api/v1/admin/tenants/{t.tenant_id}", json={"status": "suspended"})
    assert r.json()["status"] == "suspended"
    r = await client.post(
        "/api/v1/executions", headers=key, json={"agent_id": str(uuid.uuid4()), "input": "x"}
    )
    assert r.status_code == 403 and r.json()["code"] == "tenant_suspended", r.text
    body = {"model": "any", "messages": [{"role": "user", "content": "hi"}]}
    r = await client.post("/v1/chat/completions", headers=key, json=body)
    assert r.status_code == 403, r.text  # in OpenAI's error shape, with our code
    assert r.json()["error"]["code"] == "tenant_suspended" and "Billing" in r.json()["error"]["message"]
    assert (await client.get("/v1/models", headers=key)).status_code == 200  # reads still work
