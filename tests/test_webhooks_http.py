"""The HTTP twin: POST /executions with an API key and a webhook_url; signed, retried, logged."""

from __future__ import annotations

import asyncio
import json

from test_jobs import api_key

from helpers.api import ApiUser
from helpers.chat_fixtures import fake_agent
from helpers.eventually import eventually
from helpers.platform import Platform, fake_reply
from helpers.webhooks import Receiver
from runtime.webhooks import verify


async def test_webhook_is_signed_retried_and_its_attempts_are_on_the_execution(
    platform: Platform, admin: ApiUser, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    bot = await fake_agent(admin)
    key = await api_key(admin)
    headers = {"Authorization": f"Bearer {key}"}
    r = await admin.client.post(
        "/api/v1/executions",
        json={"agent_id": bot["id"], "input": "[[reply:5]]", "webhook_url": url},
        headers=headers,
    )
    assert r.status_code == 202, r.text
    execution_id = r.json()["id"]
    await asyncio.wait_for(hook.delivered.wait(), 30)
    assert len(hook.calls) == 3, "two 500s, then delivered on the third attempt"
    secret = (await admin.get("/api/v1/tenant/webhook-secret")).json()["secret"]
    body, signature = hook.calls[-1]
    assert verify(secret, body, signature), "the documented recipe verifies the signature"
    payload = json.loads(body)
    assert payload["execution_id"] == execution_id and payload["output"] == fake_reply(5)

    async def attempts() -> list[tuple[int, int]]:
        row = (await admin.client.get(f"/api/v1/executions/{execution_id}", headers=headers)).json()
        return [(w["attempt"], w["status_code"]) for w in row["webhooks"]]

    # The receiver answers before the sender records the attempt: wait for the third row.
    logged = await eventually(attempts, lambda a: len(a) >= 3, what="the third attempt logged", timeout=10)
    assert logged == [(1, 500), (2, 500), (3, 200)]


async def test_webhook_secret_rotates_for_the_tenant_admin(platform: Platform, admin: ApiUser) -> None:
    first = (await admin.get("/api/v1/tenant/webhook-secret")).json()["secret"]
    assert first == (await admin.get("/api/v1/tenant/webhook-secret")).json()["secret"]
    rotated = (await admin.post("/api/v1/tenant/webhook-secret/rotate")).json()["secret"]
    assert rotated != first and rotated.startswith("whsec_")
    assert (await admin.get("/api/v1/tenant/webhook-secret")).json()["secret"] == rotated
