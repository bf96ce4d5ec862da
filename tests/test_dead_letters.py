"""Dead letters reach the app admin's list with their reason and can be re-driven."""

from __future__ import annotations

import os
import uuid

import aio_pika

from helpers.api import app_admin
from helpers.dead_letters import body_has
from helpers.eventually import eventually
from runtime.publishing import REASON_HEADER, SOURCE_EXCHANGE_HEADER, SOURCE_HEADER

PREFIX = os.environ["HB_AMQP_PREFIX"]


async def _wait_listed(root, marker: str, timeout: float = 15) -> dict:
    async def listed() -> list[dict]:
        rows = (await root.get("/api/v1/admin/dead-letters")).json()
        return [r for r in rows if marker in r["body_preview"]]

    return (await eventually(listed, what=f"dead letter {marker} listed", timeout=timeout))[0]


async def test_dead_letter_is_listed_with_reason_and_redriven_to_its_origin(client, expect_dead_letters):
    root = await app_admin(client)
    marker = uuid.uuid4().hex
    expect_dead_letters(body_has(marker), 1, why="published to the DLX by the test")
    connection = await aio_pika.connect_robust(os.environ["HB_AMQP_URL"])
    async with connection:
        channel = await connection.channel()
        origin = await channel.declare_exchange(
            f"{PREFIX}test.origin", aio_pika.ExchangeType.DIRECT, auto_delete=True
        )
        inbox = await channel.declare_queue(exclusive=True)
        await inbox.bind(origin, routing_key="jobs.x")
        dlx = await channel.get_exchange(f"{PREFIX}hirebuddha.dlx")
        await dlx.publish(
            aio_pika.Message(
                f'{{"marker": "{marker}"}}'.encode(),
                content_type="application/json",
                correlation_id="corr-1",
                headers={
                    REASON_HEADER: "unknown agent",
                    SOURCE_EXCHANGE_HEADER: origin.name,
                    SOURCE_HEADER: "jobs.x",
                },
            ),
            routing_key="jobs.x",
        )
        row = await _wait_listed(root, marker)
        assert row["reason"] == "unknown agent"
        assert (row["source_exchange"], row["routing_key"]) == (origin.name, "jobs.x")
        assert row["correlation_id"] == "corr-1" and row["retry_count"] == 0

        r = await root.post(f"/api/v1/admin/dead-letters/{row['id']}/retry")
        assert r.status_code == 202, r.text
        assert r.json()["retry_count"] == 1
        message = await eventually(
            lambda: inbox.get(fail=False), what="the re-driven message at its origin", timeout=15
        )
        assert marker.encode() in message.body
        assert REASON_HEADER not in (message.headers or {})
        await message.ack()

    assert (await root.post(f"/api/v1/admin/dead-letters/{uuid.uuid4()}/retry")).status_code == 404
