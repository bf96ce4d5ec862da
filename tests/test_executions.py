"""REST executions: background runs on the same actors, results stored on the row."""

from __future__ import annotations

import uuid

from helpers.api import ApiUser, member, register
from helpers.chat_fixtures import fake_agent, set_max_concurrency
from helpers.eventually import eventually
from helpers.platform import Platform, fake_reply


async def wait_status(who: ApiUser, execution_id: str, *statuses: str, timeout: float = 20) -> dict:
    """Poll GET /executions/{id} until its status is one of `statuses` (no event to wait on)."""

    async def row() -> dict:
        return (await who.get(f"/api/v1/executions/{execution_id}")).json()

    return await eventually(row, lambda r: r["status"] in statuses, f"status in {statuses}", timeout)


async def start(who: ApiUser, agent_id: str, text: str) -> str:
    r = await who.post("/api/v1/executions", json={"agent_id": agent_id, "input": text})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending"
    return r.json()["id"]


async def test_rest_execution_runs_in_the_background_and_stores_its_result(
    platform: Platform, admin: ApiUser
) -> None:
    bot = await fake_agent(admin)
    execution = await start(admin, bot["id"], "screen this CV [[reply:12]]")
    row = await wait_status(admin, execution, "completed", "failed")
    assert row["status"] == "completed", row
    assert row["result_data"]["text"] == fake_reply(12)
    assert row["usage"]["output_tokens"] == 12 and row["usage"]["input_tokens"] > 0
    assert row["started_at"] and row["completed_at"] and row["error_message"] is None
    assert row["source"] == "rest" and row["session_id"] is None
    listed = (await admin.get("/api/v1/executions")).json()
    assert execution in [e["id"] for e in listed]


async def test_rest_cancel_stops_a_running_execution_and_answers_a_finished_one(
    platform: Platform, admin: ApiUser
) -> None:
    bot = await fake_agent(admin)
    long = await start(admin, bot["id"], "[[reply:5000]]")
    await wait_status(admin, long, "running")
    r = await admin.post(f"/api/v1/executions/{long}/cancel")
    assert r.status_code in (200, 202) and r.json()["status"] in ("cancelling", "cancelled"), r.text
    row = await wait_status(admin, long, "cancelled")
    assert row["completed_at"] and row["usage"]["counted"] is True
    short = await start(admin, bot["id"], "[[reply:2]]")
    await wait_status(admin, short, "completed")
    r = await admin.post(f"/api/v1/executions/{short}/cancel")
    assert r.status_code == 200 and r.json() == {"id": short, "status": "completed"}


async def test_provider_failure_ends_failed_with_a_message(platform: Platform, admin: ApiUser) -> None:
    bot = await fake_agent(admin)
    execution = await start(admin, bot["id"], "[[fail:400]]")
    row = await wait_status(admin, execution, "failed", "completed")
    assert row["status"] == "failed" and row["error_message"] and row["completed_at"]
    assert row["result_data"]["error_code"] == "provider_rejected"


async def test_rest_admission_and_visibility(platform: Platform, admin: ApiUser) -> None:
    bot = await fake_agent(admin)
    r = await admin.post("/api/v1/executions", json={"agent_id": str(uuid.uuid4()), "input": "x"})
    assert r.status_code == 404
    r = await admin.post("/api/v1/executions", json={"agent_id": bot["id"]})
    assert r.status_code == 400
    await set_max_concurrency(admin.tenant_id, 1)
    running = await start(admin, bot["id"], "[[reply:5000]]")
    r = await admin.post("/api/v1/executions", json={"agent_id": bot["id"], "input": "one more"})
    assert r.status_code == 429 and r.json()["status"] == 429
    stranger = await register(admin.client)
    colleague = await member(admin)
    for who in (stranger, colleague):
        assert (await who.get(f"/api/v1/executions/{running}")).status_code == 404
        assert (await who.post(f"/api/v1/executions/{running}/cancel")).status_code == 404
        assert running not in [e["id"] for e in (await who.get("/api/v1/executions")).json()]
    await admin.post(f"/api/v1/executions/{running}/cancel")
    await wait_status(admin, running, "cancelled")
