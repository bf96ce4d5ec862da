"""Every REST error is a problem+json body with a machine `code` (runtime/errors.py)."""

from __future__ import annotations

import uuid

import pytest

from helpers.api import agent, register
from helpers.chat_fixtures import set_max_concurrency
from runtime.errors import ErrorCode

pytestmark = pytest.mark.usefixtures("server")


def _problem(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == status and body["code"] == code and body["detail"], body
    assert body["code"] in set(ErrorCode)
    return body


async def test_a_refused_execution_names_its_code(client):
    admin = await register(client)
    r = await admin.post("/api/v1/executions", json={"agent_id": str(uuid.uuid4()), "input": "hi"})
    _problem(r, 404, "not_found")

    bot = await agent(admin)
    await set_max_concurrency(admin.tenant_id, 0)
    r = await admin.post("/api/v1/executions", json={"agent_id": bot["id"], "input": "hi"})
    body = _problem(r, 429, "rate_limited")
    assert "limit 0" in body["detail"] and r.headers["retry-after"]


async def test_framework_errors_carry_the_code_of_their_status(client):
    admin = await register(client)
    _problem(await admin.post("/api/v1/executions", json={"input": 5}), 400, "validation_error")
    _problem(await client.get("/api/v1/agents"), 401, "unauthorized")
    _problem(await admin.get("/api/v1/admin/dead-letters"), 403, "forbidden")
    _problem(await admin.get(f"/api/v1/executions/{uuid.uuid4()}"), 404, "not_found")
    _problem(await admin.get("/api/v1/no-such-route"), 404, "not_found")
    _problem(await admin.delete("/api/v1/executions"), 405, "method_not_allowed")
