"""Health, readiness, metrics, OpenAPI and request ids."""

from __future__ import annotations

import json
import uuid

import pytest

pytestmark = pytest.mark.usefixtures("server")


async def test_live_and_ready(client):
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    r = await client.get("/health/ready")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": True, "broker": True}


async def test_openapi_lists_the_contract_routes(client):
    spec = (await client.get("/schema/openapi.json")).json()
    for path in [
        "/api/v1/auth/login",
        "/api/v1/agents",
        "/api/v1/tenant/api-keys",
        "/api/v1/partner/tenants",
        "/api/v1/admin/partners",
        "/api/v1/me",
        "/health/ready",
    ]:
        assert path in spec["paths"], f"{path} missing from OpenAPI"


async def test_request_id_is_echoed_and_kept(client):
    r = await client.get("/health/live", headers={"x-request-id": "abc123"})
    assert r.headers["x-request-id"] == "abc123"
    r = await client.get("/api/v1/me")
    assert r.status_code == 401 and len(r.headers["x-request-id"]) == 32
    assert r.json()["request_id"] == r.headers["x-request-id"]


async def test_metrics_are_prometheus_text(client):
    await client.get("/health/live")
    text = (await client.get("/metrics")).text
    assert 'hirebuddha_http_requests_total{status="2xx"}' in text


async def test_logs_are_json_lines_with_request_ids_and_no_secrets(client, web_process):
    """Every line the web process logs is JSON; secrets sent to it never appear in its log."""
    from helpers.api import PASSWORD, app_admin

    root = await app_admin(client)
    secret = "sk-log-probe-" + uuid.uuid4().hex
    r = await client.put(
        "/api/v1/admin/providers/openai",
        json={"api_key": secret},
        headers={**root.headers, "x-request-id": "probe42"},
    )
    assert r.status_code == 200
    log = web_process[1].output()
    lines = [json.loads(x) for x in log.splitlines() if x.startswith("{")]
    assert lines and len(lines) == len([x for x in log.splitlines() if x.strip()]), "non-JSON log lines"
    assert any(x.get("request_id") == "probe42" and x.get("status") == 200 for x in lines)
    assert secret not in log and PASSWORD not in log
