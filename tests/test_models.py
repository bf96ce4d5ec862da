"""The provider registry and the model catalog through the real web process.

An agent may only name an active catalog chat model of a configured provider (422 naming the
field otherwise); a model without rates cannot be activated; deactivating a model refuses new
executions of agents on it (`model_inactive`), over REST and the chat socket alike.
"""

from __future__ import annotations

import json
import uuid

import pytest
import websockets

from helpers.api import ApiUser, agent, app_admin, register
from runtime import db


@pytest.fixture
async def root(client) -> ApiUser:
    return await app_admin(client)


def unique(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}"


async def add_rates(root: ApiUser, model: str, *resources: str) -> None:
    for resource in resources or ("input_tokens", "output_tokens"):
        body = {
            "model": model,
            "resource_type": resource,
            "unit": "1m_tokens",
            "cost_rate": "0.5",
            "billing_rate": "1.25",
        }
        r = await root.post("/api/v1/admin/rates", json=body)
        assert r.status_code == 201, r.text


async def add_model(root: ApiUser, key: str, provider: str = "demo", **extra) -> dict:
    """A priced, active chat model of `provider`, added through the admin API."""
    await add_rates(root, key, *(("embedding_tokens",) if extra.get("model_type") == "embedding" else ()))
    body = {"model_key": key, "model_name": key.title(), "provider": provider, **extra}
    r = await root.post("/api/v1/admin/models", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def first_error(r) -> dict:
    return r.json()["errors"][0]


# --- providers ---------------------------------------------------------------------------


async def test_provider_registry_keeps_keys_and_header_values_write_only(root: ApiUser) -> None:
    name, secret, header_secret = unique("vendor"), f"sk-{uuid.uuid4().hex}", f"hv-{uuid.uuid4().hex}"
    r = await root.put(
        f"/api/v1/admin/providers/{name}",
        json={
            "base_url": "http://127.0.0.1:9/v1",
            "api_key": secret,
            "kind": "openai_compatible",
            "headers": {"x-api-version": header_secret},
        },
    )
    assert r.status_code == 200, r.text
    listing = await root.get("/api/v1/admin/providers")
    assert secret not in listing.text + r.text and header_secret not in listing.text + r.text
    by_name = {p["name"]: p for p in listing.json()}
    assert [p["name"] for p in listing.json()][:2] == ["demo", "openai"]
    mine = by_name[name]
    assert (mine["has_api_key"], mine["header_names"], mine["source"]) == (True, ["x-api-version"], "stored")
    assert (mine["breaker_state"], mine["last_error"]) == ("closed", None)
    async with db.scope(system=True):
        rows = await db.fetch(
            "SELECT value, is_encrypted FROM system_configs WHERE key LIKE $1", f"provider.{name}.%"
        )
    stored = " ".join(r["value"] for r in rows)
    assert secret not in stored and header_secret not in stored

    # Rotating the key keeps the URL; the connection test reports the dead endpoint.
    r = await root.put(f"/api/v1/admin/providers/{name}", json={"api_key": "sk-rotated"})
    assert r.json()["base_url"] == "http://127.0.0.1:9/v1"
    tried = await root.post(f"/api/v1/admin/providers/{name}/test")
    assert tried.status_code == 200 and tried.json()["ok"] is False, tried.text

    # In use by a catalog model: not deletable until the model goes elsewhere.
    model = await add_model(root, unique("vm"), name)
    r = await root.delete(f"/api/v1/admin/providers/{name}")
    assert r.status_code == 409 and model["model_key"] in r.text, r.text
    assert (
        await root.patch(f"/api/v1/admin/models/{model['id']}", json={"provider": "demo"})
    ).status_code == 200
    assert (await root.delete(f"/api/v1/admin/providers/{name}")).status_code == 204
    names = [p["name"] for p in (await root.get("/api/v1/admin/providers")).json()]
    assert name not in names


async def test_demo_is_built_in_and_bad_names_are_refused(root: ApiUser) -> None:
    assert (
        await root.put("/api/v1/admin/providers/demo", json={"base_url": "http://x/v1"})
    ).status_code == 409
    assert (await root.delete("/api/v1/admin/providers/demo")).status_code == 409
    r = await root.put("/api/v1/admin/providers/Bad.Name", json={"base_url": "http://x/v1"})
    assert r.status_code == 400 and first_error(r)["key"] == "name", r.text
    r = await root.put(f"/api/v1/admin/providers/{unique('v')}", json={"base_url": "ftp://x"})
    assert r.status_code == 400 and "base_url" in r.text
    assert (await root.delete(f"/api/v1/admin/providers/{unique('nobody')}")).status_code == 404
    demo = await root.post("/api/v1/admin/providers/demo/test")
    assert demo.json()["ok"] is True


async def test_only_app_admins_manage_providers_and_models(client) -> None:
    tenant_admin = await register(client)
    for method, url in (
        ("get", "/api/v1/admin/providers"),
        ("put", "/api/v1/admin/providers/x"),
        ("get", "/api/v1/admin/models"),
        ("post", "/api/v1/admin/models"),
    ):
        kw = {"json": {}} if method in ("put", "post") else {}
        r = await getattr(tenant_admin, method)(url, **kw)
        assert r.status_code == 403, (url, r.status_code)


# --- the catalog ------------------------------------------------------------------------


async def test_a_model_without_rates_cannot_be_activated(root: ApiUser) -> None:
    key = unique("unpriced")
    body = {"model_key": key, "model_name": "Unpriced", "provider": "demo"}
    r = await root.post("/api/v1/admin/models", json=body)
    assert r.status_code == 422, r.text
    assert first_error(r)["key"] == "is_active" and first_error(r)["code"] == "model_unpriced"
    assert "input_tokens" in r.text and "/admin/rates" in r.text
    created = await root.post("/api/v1/admin/models", json={**body, "is_active": False})
    assert created.status_code == 201, created.text
    model_id = created.json()["id"]
    assert (await root.patch(f"/api/v1/admin/models/{model_id}", json={"is_active": True})).status_code == 422
    await add_rates(root, key)
    r = await root.patch(f"/api/v1/admin/models/{model_id}", json={"is_active": True})
    assert r.status_code == 200 and r.json()["is_active"] is True, r.text


async def test_catalog_rejects_unknown_providers_and_a_window_smaller_than_the_reply(root: ApiUser) -> None:
    key = unique("odd")
    await add_rates(root, key)
    r = await root.post(
        "/api/v1/admin/models", json={"model_key": key, "model_name": "Odd", "provider": "nobody-here"}
    )
    assert r.status_code == 422 and first_error(r)["key"] == "provider", r.text
    r = await root.post(
        "/api/v1/admin/models",
        json={
            "model_key": key,
            "model_name": "Odd",
            "provider": "demo",
            "context_window": 100,
            "max_output_tokens": 100,
        },
    )
    assert r.status_code == 422 and first_error(r)["key"] == "max_output_tokens", r.text


async def test_tenants_list_active_models_with_limits_and_their_prices(root: ApiUser, client) -> None:
    active = await add_model(root, unique("listed"), context_window=32000, max_output_tokens=2000)
    hidden = await add_model(root, unique("hidden"))
    await root.patch(f"/api/v1/admin/models/{hidden['id']}", json={"is_active": False})
    tenant = await register(client)
    models = {m["model_key"]: m for m in (await tenant.get("/api/v1/models")).json()}
    assert hidden["model_key"] not in models and "demo-1" in models
    mine = models[active["model_key"]]
    assert (mine["context_window"], mine["max_output_tokens"], mine["provider"]) == (32000, 2000, "demo")
    prices = {p["resource_type"]: (p["rate"], p["unit"]) for p in mine["prices"]}
    assert prices == {"input_tokens": ("1.250000", "1m_tokens"), "output_tokens": ("1.250000", "1m_tokens")}


# --- agents must name usable models ---------------------------------------------------------


async def test_agents_must_name_an_active_catalog_chat_model(root: ApiUser, client) -> None:
    admin = await register(client)
    inactive = await add_model(root, unique("retired"))
    await root.patch(f"/api/v1/admin/models/{inactive['id']}", json={"is_active": False})
    embedding = await add_model(root, unique("embed"), model_type="embedding")
    cases = [
        ({"model": unique("nope")}, "llm_config.model", "unknown_model"),
        ({"model": embedding["model_key"]}, "llm_config.model", "invalid"),
        ({"model": inactive["model_key"]}, "llm_config.model", "model_inactive"),
        ({"model": "demo-1", "provider": "skynet"}, "llm_config.provider", "unknown_provider"),
        ({"model": "demo-1", "provider": "openai"}, "llm_config.provider", "invalid"),
        ({"model": "demo-1", "max_tokens": 5000}, "llm_config.max_tokens", "invalid"),
        (
            {"model": "demo-1", "fallback": {"provider": "demo", "model": unique("gone")}},
            "llm_config.fallback.model",
            "unknown_model",
        ),
    ]
    for config, field, code in cases:
        r = await admin.post("/api/v1/agents", json={"name": "x", "role": "r", "llm_config": config})
        assert r.status_code == 422, (config, r.status_code, r.text)
        assert (first_error(r)["key"], first_error(r)["code"]) == (field, code), (config, r.text)
    bot = await agent(admin)
    r = await admin.patch(
        f"/api/v1/agents/{bot['id']}", json={"llm_config": {"model": embedding["model_key"]}}
    )
    assert r.status_code == 422 and first_error(r)["key"] == "llm_config.model", r.text


async def test_deactivating_a_model_refuses_new_executions_with_model_inactive(
    root: ApiUser, client, server: str
) -> None:
    admin = await register(client)
    model = await add_model(root, unique("sunset"))
    bot = await agent(admin, llm_config={"model": model["model_key"]})
    session = (await admin.post("/api/v1/sessions", json={"agent_id": bot["id"]})).json()["id"]
    r = await root.patch(f"/api/v1/admin/models/{model['id']}", json={"is_active": False})
    assert r.status_code == 200, r.text

    r = await admin.post("/api/v1/executions", json={"agent_id": bot["id"], "input": "hello"})
    assert r.status_code == 422 and "deactivated" in r.text, r.text
    ws_url = server.replace("http://", "ws://") + f"/api/v1/sessions/{session}/ws"
    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": admin.token}))
        assert json.loads(await ws.recv())["type"] == "ready"
        await ws.send(json.dumps({"type": "message", "content": "hi", "client_id": "c1"}))
        frame = json.loads(await ws.recv())
    assert (frame["type"], frame["code"]) == ("error", "model_inactive"), frame
    async with db.scope(system=True):
        row = await db.fetchrow(
            "SELECT count(*) AS n FROM executions WHERE agent_id = $1", uuid.UUID(bot["id"])
        )
    assert row["n"] == 0, "a refused execution must not be written"
