"""External jobs over RabbitMQ: results to reply_to and the results exchange, idempotency,
nothing dropped silently (docs/contract.md "AMQP")."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from helpers.api import ApiUser, app_admin, register
from helpers.chat_fixtures import fake_agent, set_max_concurrency
from helpers.dead_letters import correlation_in
from helpers.eventually import eventually
from helpers.platform import AMQP_URL, WAIT, Platform, UsageTap, fake_reply
from runtime import db

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_example() -> dict[str, Any]:
    """The README's own aio-pika example (the python block under "Jobs over RabbitMQ"),
    executed as written (its `__main__` part skipped)."""
    block = re.search(r"^### Jobs over RabbitMQ\n.*?^```python\n(.*?)^```", README.read_text(), re.S | re.M)
    assert block, "README.md lost its jobs example"
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(block.group(1), str(README), "exec"), namespace)  # noqa: S102 (our own docs)
    return namespace


async def api_key(admin: ApiUser) -> str:
    r = await admin.post("/api/v1/tenant/api-keys", json={"name": "back office"})
    assert r.status_code == 201, r.text
    return r.json()["key"]


class JobClient:
    """A back office: publishes jobs with a reply queue and collects what comes back."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.replies: list[aio_pika.abc.AbstractIncomingMessage] = []
        self._arrived = asyncio.Condition()

    async def __aenter__(self) -> JobClient:
        self.connection = await aio_pika.connect_robust(AMQP_URL)
        self.channel = await self.connection.channel()
        self.reply_queue = await self.channel.declare_queue(exclusive=True)
        await self.reply_queue.consume(self._on_reply, no_ack=True)
        self.exchange = await self.channel.get_exchange(f"{self.prefix}hirebuddha.jobs")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connection.close()

    async def _on_reply(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with self._arrived:
            self.replies.append(message)
            self._arrived.notify_all()

    async def publish(
        self, body: bytes | dict, key: str | None, correlation_id: str | None = None, **props: Any
    ) -> str:
        correlation_id = correlation_id or uuid.uuid4().hex
        headers = {"x-api-key": key} if key is not None else {}
        props.setdefault("content_type", "application/json")
        await self.exchange.publish(
            aio_pika.Message(
                body if isinstance(body, bytes) else json.dumps(body).encode(),
                headers=headers,
                reply_to=self.reply_queue.name,
                correlation_id=correlation_id,
                **props,
            ),
            routing_key="submit",
        )
        return correlation_id

    def results(self, correlation_id: str) -> list[dict]:
        return [json.loads(m.body) for m in self.replies if m.correlation_id == correlation_id]

    async def result(self, correlation_id: str, count: int = 1, timeout: float = WAIT) -> list[dict]:
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.results(correlation_id)) >= count)
        return self.results(correlation_id)


@pytest.fixture(name="jobs")
async def jobs_fixture(platform: Platform):
    async with JobClient(platform.env["HB_AMQP_PREFIX"]) as client:
        yield client


async def execution_row(tenant_id: str, execution_id: str) -> Any:
    async with db.scope(uuid.UUID(tenant_id)):
        return await db.fetchrow(
            "SELECT source, status, correlation_id FROM executions WHERE id = $1",
            uuid.UUID(execution_id),
        )


async def test_readme_example_gets_the_providers_reply_on_reply_to_and_results_exchange(
    platform: Platform, admin: ApiUser
) -> None:
    bot = await fake_agent(admin)
    key = await api_key(admin)
    prefix = platform.env["HB_AMQP_PREFIX"]
    async with (
        UsageTap(prefix) as usage,
        await aio_pika.connect_robust(AMQP_URL) as connection,
    ):
        channel = await connection.channel()
        tenant_results = await channel.declare_queue(exclusive=True)
        await tenant_results.bind(f"{prefix}hirebuddha.results", routing_key=f"tenant.{admin.tenant_id}")
        broadcast: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        async def on_broadcast(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            if not broadcast.done():
                broadcast.set_result(message.body)

        await tenant_results.consume(on_broadcast, no_ack=True)
        run_job = readme_example()["run_job"]
        result = await asyncio.wait_for(
            run_job("[[reply:9]]", AMQP_URL, key, bot["id"], f"{prefix}hirebuddha.jobs"), WAIT
        )
        assert result["status"] == "completed", result
        assert result["output"] == fake_reply(9)
        assert result["usage"]["output_tokens"] == 9 and result["error"] is None
        broadcast_body = await asyncio.wait_for(broadcast, WAIT)
        assert json.loads(broadcast_body) == result, "the results exchange carries the same result"
        row = await execution_row(admin.tenant_id, result["execution_id"])
        assert row["source"] == "queue" and row["status"] == "completed"
        metered = await usage.wait_for(result["execution_id"])
        assert metered[0].output_tokens == 9, "the job's LLM call is metered for the ledger"


async def test_same_correlation_id_runs_once_and_answers_twice(
    platform: Platform, admin: ApiUser, jobs: JobClient
) -> None:
    bot = await fake_agent(admin)
    key = await api_key(admin)
    job = {"agent_id": bot["id"], "input": "[[reply:4]]", "metadata": {"order": 7}}
    cid = await jobs.publish(job, key)
    (first,) = await jobs.result(cid)
    await jobs.publish(job, key, correlation_id=cid)
    second = (await jobs.result(cid, 2))[1]
    assert first == second and first["status"] == "completed", (first, second)
    async with db.scope(uuid.UUID(admin.tenant_id)):
        rows = await db.fetch(
            "SELECT id FROM executions WHERE tenant_id = $1 AND correlation_id = $2",
            uuid.UUID(admin.tenant_id),
            cid,
        )
    assert len(rows) == 1, "a repeated job must not run twice"


async def test_bad_jobs_are_rejected_dead_lettered_and_the_consumer_keeps_going(
    platform: Platform, admin: ApiUser, jobs: JobClient, expect_dead_letters
) -> None:
    bot = await fake_agent(admin)
    key = await api_key(admin)
    other = await register(admin.client)
    other_bot = await fake_agent(other)
    good = {"agent_id": bot["id"], "input": "[[reply:3]]"}
    cases = {
        "bad key": (good, "hb_nope_nothing", {}),
        "missing header": (good, None, {}),
        "other tenant's agent": ({"agent_id": other_bot["id"], "input": "hi"}, key, {}),
        "unknown agent": ({"agent_id": str(uuid.uuid4()), "input": "hi"}, key, {}),
        "malformed JSON": (b"{not json", key, {}),
        "missing input": ({"agent_id": bot["id"]}, key, {}),
        "10 MB body": (b'{"input":"' + b"x" * 10_000_000 + b'"}', key, {}),
        "wrong content type": (good, key, {"content_type": "text/plain"}),
    }
    sent = {name: await jobs.publish(body, k, **props) for name, (body, k, props) in cases.items()}
    expect_dead_letters(correlation_in(set(sent.values())), len(sent), why="one per bad job")
    for name, cid in sent.items():
        (result,) = await jobs.result(cid)
        assert result["status"] == "rejected", f"{name}: {result}"
        assert result["error"]["code"] and result["error"]["message"], f"{name}: {result}"
        assert result["execution_id"] is None and result["correlation_id"] == cid
    ok = await jobs.publish(good, key)
    assert (await jobs.result(ok))[0]["status"] == "completed", "the intake must keep consuming"
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        root = await app_admin(client)

        async def listed() -> dict[str, dict]:
            rows = (await root.get("/api/v1/admin/dead-letters")).json()
            return {r["correlation_id"]: r for r in rows if r["correlation_id"] in sent.values()}

        mine = await eventually(listed, lambda m: len(m) == len(sent), "every bad job dead-lettered", WAIT)
    for name, cid in sent.items():
        row = mine[cid]
        assert row["reason"] and row["headers"]["x-reason"] == row["reason"], f"{name}: {row}"
        assert key not in str(row), f"{name}: the API key is shown in the dead-letter console"
    assert mine[sent["unknown agent"]]["reason"].startswith("unknown_agent")
    assert mine[sent["10 MB body"]]["reason"].startswith("too_large")


async def test_asyncapi_document_is_public_and_describes_the_jobs_interface(platform: Platform) -> None:
    async with httpx.AsyncClient(base_url=platform.base_url) as client:
        r = await client.get("/asyncapi")
    assert r.status_code == 200, r.text
    doc = r.json()
    prefix = platform.env["HB_AMQP_PREFIX"]
    assert doc["asyncapi"].startswith("3.")
    intake = doc["channels"]["jobs.submit"]["bindings"]["amqp"]["queue"]
    assert intake["name"] == f"{prefix}hirebuddha.jobs.submit"
    assert doc["channels"]["jobs.results"]["address"] == "tenant.{tenant_id}"
    schemas = doc["components"]["schemas"]
    assert set(schemas["JobSubmit"]["required"]) == {"agent_id", "input"}
    assert {"correlation_id", "execution_id", "status", "output", "usage", "error"} <= set(
        schemas["JobResult"]["properties"]
    )


async def job_execution(tenant_id: str, correlation_id: str, statuses: tuple[str, ...]) -> uuid.UUID:
    """The id of the tenant's job `correlation_id` once its status is one of `statuses`."""
    async with asyncio.timeout(WAIT):
        while True:  # noqa: ASYNC110 (intake writes the row; there is no event to wait on)
            async with db.scope(uuid.UUID(tenant_id)):
                row = await db.fetchrow(
                    "SELECT id, status FROM executions WHERE correlation_id = $1", correlation_id
                )
            if row is not None and row["status"] in statuses:
                return row["id"]
            await asyncio.sleep(0.05)


async def test_a_job_cancelled_over_rest_while_queued_still_gets_its_result(
    platform: Platform, admin: ApiUser, jobs: JobClient
) -> None:
    tenant = await register(admin.client)  # its own concurrency limit, nobody else's jobs
    await set_max_concurrency(tenant.tenant_id, 1)
    bot = await fake_agent(tenant)
    key = await api_key(tenant)
    busy = await jobs.publish({"agent_id": bot["id"], "input": "[[hang]]"}, key)
    busy_id = await job_execution(tenant.tenant_id, busy, ("running",))
    waiting = await jobs.publish({"agent_id": bot["id"], "input": "[[reply:2]]"}, key)
    waiting_id = await job_execution(tenant.tenant_id, waiting, ("queued",))
    r = await tenant.post(f"/api/v1/executions/{waiting_id}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    (result,) = await jobs.result(waiting)
    assert result["execution_id"] == str(waiting_id) and result["status"] == "failed", result
    assert result["error"]["code"] == "cancelled"
    r = await tenant.post(f"/api/v1/executions/{busy_id}/cancel")
    assert r.status_code == 202, r.text
    (ended,) = await jobs.result(busy)
    assert ended["error"]["code"] == "cancelled", ended


async def test_a_suspended_tenants_job_is_rejected_tenant_suspended_and_dead_lettered(
    platform: Platform, admin: ApiUser, jobs: JobClient, expect_dead_letters
) -> None:
    bot = await fake_agent(admin)
    key = await api_key(admin)
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        root = await app_admin(client)
        r = await root.patch(f"/api/v1/admin/tenants/{admin.tenant_id}", json={"status": "suspended"})
        assert r.status_code == 200, r.text
    cid = await jobs.publish({"agent_id": bot["id"], "input": "[[reply:3]]"}, key)
    expect_dead_letters(correlation_in({cid}), 1, why="a suspended tenant's job")
    (result,) = await jobs.result(cid)
    assert result["status"] == "rejected" and result["error"]["code"] == "tenant_suspended", result
    assert "Billing" in result["error"]["message"]
