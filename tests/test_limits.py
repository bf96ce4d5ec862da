"""Per-tier limits (docs/limits.md): hourly API calls and requests counted in PostgreSQL across
two web processes, the app admin's tier editor, the tenant's view, and chat messages over
the concurrency limit waiting their turn in the tenant's fair queue.

Each test puts its tenant on a tier of its own (a `tier_limits` row it creates), so changing
limits never touches another test's tenants.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from conftest import Process, start_web
from helpers.api import ApiUser, app_admin
from helpers.chat_fixtures import fake_agent, open_session, set_max_concurrency
from helpers.platform import Platform, chat
from helpers.tiers import SEEDED
from runtime import db

QUICK_WAIT_S = 1.0
"""HB_CHAT_QUEUE_WAIT_S of the second web process (the wait-limit test)."""


@pytest.fixture(scope="module")
async def second_web(platform: Platform) -> AsyncIterator[str]:
    """Another web process on the same database and broker prefix, with a short chat wait."""
    base, web = await start_web({**platform.env, "HB_CHAT_QUEUE_WAIT_S": str(QUICK_WAIT_S)})
    try:
        yield base
    finally:
        await asyncio.to_thread(Process.stop, web)


async def own_tier(tenant_id: str, **limits: int | None) -> str:
    """A tier for this test only, with the given limits, and the tenant moved onto it."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    values = {"concurrent_executions": 10, "requests_per_hour": None, "api_calls_per_hour": None, **limits}
    async with db.scope(system=True):
        await db.execute(
            "INSERT INTO tier_limits (tier, concurrent_executions, requests_per_hour, api_calls_per_hour) "
            "VALUES ($1, $2, $3, $4)",
            name,
            values["concurrent_executions"],
            values["requests_per_hour"],
            values["api_calls_per_hour"],
        )
        await db.execute("UPDATE tenants SET tier = $1 WHERE id = $2", name, uuid.UUID(tenant_id))
    return name


async def test_the_seeded_tiers_and_the_admin_editing_a_tier_the_tenant_sees(
    platform: Platform, admin: ApiUser
) -> None:
    root = await app_admin(admin.client)
    seeded = {
        name: (t["concurrent_executions"], t["requests_per_hour"], t["api_calls_per_hour"])
        for name, t in SEEDED.items()
    }
    assert seeded == {"free": (10, 100, 1000), "pro": (50, 1000, 10000), "enterprise": (200, None, 100000)}
    listed = {t["tier"]: t["concurrent_executions"] for t in (await root.get("/api/v1/admin/tiers")).json()}
    assert {k: listed[k] for k in seeded} == {"free": 10, "pro": 50, "enterprise": 200}
    assert list(listed)[:3] == ["free", "pro", "enterprise"]

    tier = await own_tier(admin.tenant_id)
    r = await root.patch(
        f"/api/v1/admin/tiers/{tier}", json={"concurrent_executions": 3, "requests_per_hour": 7}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["concurrent_executions"], r.json()["requests_per_hour"]) == (3, 7)
    mine = (await admin.get("/api/v1/tenant/limits")).json()
    assert mine["tier"] == tier
    assert (mine["concurrent_executions"], mine["requests_per_hour"], mine["api_calls_per_hour"]) == (
        3,
        7,
        None,
    )
    assert mine["requests_used"] == 0 and 0 < mine["reset_s"] <= 3600

    r = await root.patch(f"/api/v1/admin/tiers/{tier}", json={"requests_per_hour": None})
    assert r.status_code == 200 and r.json()["requests_per_hour"] is None
    refused = await root.patch(f"/api/v1/admin/tiers/{tier}", json={"api_calls_per_hour": -1})
    assert refused.status_code == 400 and refused.json()["code"] == "validation_error"
    assert (await root.patch("/api/v1/admin/tiers/no-such-tier", json={})).status_code == 404
    forbidden = await admin.patch(f"/api/v1/admin/tiers/{tier}", json={"requests_per_hour": 9})
    assert forbidden.status_code == 403
    audit = (await root.get("/api/v1/admin/audit", params={"action": "tier.update"})).json()
    entries = audit["items"] if isinstance(audit, dict) else audit
    assert any(e["details"].get("tier") == tier for e in entries), entries


async def test_api_calls_per_hour_are_one_budget_across_web_processes(
    platform: Platform, second_web: str, admin: ApiUser
) -> None:
    """Ten calls at once through two web processes on a tier of six calls an hour: exactly
    six pass, each saying what remains, and four get 429 with Retry-After."""
    await own_tier(admin.tenant_id, api_calls_per_hour=6)
    async with (
        httpx.AsyncClient(base_url=platform.base_url, headers=admin.headers, timeout=30) as one,
        httpx.AsyncClient(base_url=second_web, headers=admin.headers, timeout=30) as two,
    ):
        answers = await asyncio.gather(*((one, two)[i % 2].get("/api/v1/agents") for i in range(10)))
    assert Counter(r.status_code for r in answers) == {200: 6, 429: 4}
    remaining = sorted(int(r.headers["ratelimit-remaining"]) for r in answers if r.status_code == 200)
    assert remaining == [0, 1, 2, 3, 4, 5]
    for r in answers:
        assert r.headers["ratelimit-limit"] == "6" and 0 < int(r.headers["ratelimit-reset"]) <= 3600
        if r.status_code == 429:
            body = r.json()
            assert body["code"] == "api_quota_exceeded" and "6 API calls per hour" in body["detail"]
            assert 0 < int(r.headers["retry-after"]) <= 3600 and r.headers["ratelimit-remaining"] == "0"
    # An unmetered caller (the app admin) is never refused, so it can raise the limit.
    root = await app_admin(admin.client)
    assert (await root.get("/api/v1/admin/tiers")).status_code == 200


async def test_requests_per_hour_refuse_executions_and_chat_messages(
    platform: Platform, admin: ApiUser
) -> None:
    bot = await fake_agent(admin)
    session = await open_session(admin, bot["id"])
    await own_tier(admin.tenant_id, requests_per_hour=2)
    for _ in range(2):
        r = await admin.post("/api/v1/executions", json={"agent_id": bot["id"], "input": "[[reply:3]]"})
        assert r.status_code == 202, r.text
    r = await admin.post("/api/v1/executions", json={"agent_id": bot["id"], "input": "[[reply:3]]"})
    assert r.status_code == 429 and r.json()["code"] == "request_quota_exceeded", r.text
    assert 0 < int(r.headers["retry-after"]) <= 3600 and r.headers["ratelimit-remaining"] == "0"
    async with chat(platform, session, admin.token) as ws:
        await ws.send({"type": "message", "content": "hi", "client_id": "over"})
        refused = await ws.until("error")
    assert refused["code"] == "request_quota_exceeded"
    limits = (await admin.get("/api/v1/tenant/limits")).json()
    assert limits["requests_used"] == 2 and limits["requests_per_hour"] == 2
    async with db.scope(uuid.UUID(admin.tenant_id)):
        written = await db.fetchrow(
            "SELECT count(*) AS n FROM executions WHERE tenant_id = $1", uuid.UUID(admin.tenant_id)
        )
    assert written is not None and written["n"] == 2, "a refused request writes nothing"


async def test_a_chat_message_over_the_limit_waits_its_turn_and_sees_its_position(
    platform: Platform, admin: ApiUser
) -> None:
    await set_max_concurrency(admin.tenant_id, 1)
    bot = await fake_agent(admin)
    sessions = [await open_session(admin, bot["id"]) for _ in range(3)]
    async with (
        chat(platform, sessions[0], admin.token) as a,
        chat(platform, sessions[1], admin.token) as b,
        chat(platform, sessions[2], admin.token) as c,
    ):
        running = await a.message("[[reply:3000]]")
        await a.until("delta", execution_id=running)
        await b.send({"type": "message", "content": "second [[reply:3000]]", "client_id": "b1"})
        second = await b.until("execution.queued")
        assert second["position"] == 1 and second["message_id"]
        await c.send({"type": "message", "content": "third [[reply:5]]", "client_id": "c1"})
        third = await c.until("execution.queued")
        assert third["position"] == 2

        await a.send({"type": "cancel", "execution_id": running})
        await a.reply(running)
        started = await b.until("execution.started", execution_id=second["execution_id"])
        assert started["message_id"] == second["message_id"]
        await b.until("delta", execution_id=second["execution_id"])
        moved = await c.until("execution.queued", execution_id=third["execution_id"])
        assert moved["position"] == 1

        await b.send({"type": "cancel", "execution_id": second["execution_id"]})
        await b.reply(second["execution_id"])
        final = await c.reply(third["execution_id"])
    assert final["type"] == "execution.completed", final
    kinds = [f["type"] for f in c.of(third["execution_id"])]
    assert kinds[:3] == ["execution.queued", "execution.queued", "execution.started"], kinds
    assert [f["position"] for f in c.of(third["execution_id"], "execution.queued")] == [2, 1]
    history = (await admin.get(f"/api/v1/sessions/{sessions[2]}/messages")).json()
    assert [m["role"] for m in history] == ["user", "assistant"]


async def test_a_chat_message_that_waits_too_long_is_refused_with_a_code(
    platform: Platform, second_web: str, admin: ApiUser
) -> None:
    await set_max_concurrency(admin.tenant_id, 1)
    bot = await fake_agent(admin)
    busy, waiting = await open_session(admin, bot["id"]), await open_session(admin, bot["id"])
    patient = Platform(second_web, platform.web, platform.env)  # the web process with a short wait
    async with chat(platform, busy, admin.token) as a, chat(patient, waiting, admin.token) as b:
        running = await a.message("[[reply:3000]]")
        await a.until("delta", execution_id=running)
        await b.send({"type": "message", "content": "hi", "client_id": "late"})
        queued = await b.until("execution.queued")
        failed = await b.reply(queued["execution_id"])
        await a.send({"type": "cancel", "execution_id": running})
        await a.reply(running)
    assert failed["type"] == "execution.failed"
    assert failed["error"]["code"] == "queue_wait_exceeded"
    row = (await admin.get(f"/api/v1/executions/{queued['execution_id']}")).json()
    assert row["status"] == "failed" and row["result_data"]["error_code"] == "queue_wait_exceeded"
