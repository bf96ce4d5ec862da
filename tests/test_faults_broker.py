"""RabbitMQ dies during traffic (a private node, SIGKILLed and started again): publishes while it
is down are reported as failed to the client, never silently dropped; web, actors and ledger
reconnect by themselves within a bounded time."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

import aio_pika
import httpx
import pytest
import websockets

from conftest import Process, start_web
from helpers.api import register
from helpers.chat_fixtures import open_session, priced_fake_agent
from helpers.eventually import eventually
from helpers.fake_llm import FakeLLM
from helpers.faults import PrivateRabbit
from helpers.ledger import make_tenant, priced_model, start_ledger_process, usage
from helpers.platform import Platform, chat, clear_stored_openai_config, fake_reply
from runtime import db
from runtime.messages import encode

RECONNECT_S = 60.0  # the bound: every process is back in service this long after the broker


@pytest.fixture
async def rabbit() -> AsyncIterator[PrivateRabbit]:
    node = PrivateRabbit()
    await node.start()
    yield node
    await node.cleanup()


@pytest.fixture
async def platform_on(
    rabbit: PrivateRabbit, database: str, fake_llm: FakeLLM
) -> AsyncIterator[tuple[Platform, Process]]:
    """Web, one actors process and a ledger, all on the private broker."""
    await clear_stored_openai_config()
    env = {
        "HB_AMQP_URL": rabbit.url,
        "HB_AMQP_PREFIX": f"test-{uuid.uuid4().hex[:8]}.",
        "HB_OPENAI_BASE_URL": fake_llm.base_url,
        "HB_OPENAI_API_KEY": "test-key",
    }
    base, web = await start_web(env)
    platform = Platform(base, web, env)
    ledger = None
    try:
        await platform.start_actors()
        ledger = await start_ledger_process(env=env)
        yield platform, ledger
    finally:
        await platform.stop()
        if ledger is not None:
            await asyncio.to_thread(ledger.stop)


async def test_broker_restart_fails_publishes_loudly_and_every_process_reconnects(
    platform_on: tuple[Platform, Process], rabbit: PrivateRabbit
) -> None:
    """With the broker SIGKILLed: /health/ready says 503, POST /executions answers 503 (not a
    202 for work that was never queued); every execution row created meanwhile is failed,
    none left pending; a chat socket gets an `unavailable` error frame (when ready, on its
    message; otherwise instead of `ready`). After the broker is back,
    within RECONNECT_S: ready is 200, a chat reply streams to completion (web publishes, actors
    consume, the relay streams back) and a usage event is priced by the ledger."""
    platform, _ledger = platform_on
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        admin = await register(client)
        bot = await priced_fake_agent(admin)
        session = await open_session(admin, bot["id"])
        async with chat(platform, session, admin.token) as ws:
            final = await ws.reply(await ws.message("[[reply:3]]"))
            assert final["type"] == "execution.completed"

        await rabbit.stop()

        async def ready_status() -> int:
            return (await client.get("/health/ready")).status_code

        await eventually(ready_status, lambda s: s == 503, "ready to report the broker down", 30)
        started = time.monotonic()
        r = await admin.post("/api/v1/executions", json={"agent_id": bot["id"], "input": "while down"})
        assert r.status_code == 503, f"a publish while the broker is down answered {r.status_code}: {r.text}"
        assert "Retry-After" in r.headers and time.monotonic() - started < 15, "503 must come fast"
        async with websockets.connect(f"{platform.ws_base}/sessions/{session}/ws") as raw:
            await raw.send(json.dumps({"type": "auth", "token": admin.token}))
            frame = json.loads(await asyncio.wait_for(raw.recv(), 15))
            if frame["type"] == "ready":  # the session was still bound: the message must fail
                await raw.send(
                    json.dumps({"type": "message", "content": "down?", "client_id": uuid.uuid4().hex})
                )
                frame = json.loads(await asyncio.wait_for(raw.recv(), 15))
            assert frame["type"] == "error" and frame["code"] == "unavailable", (
                f"while the broker is down: {frame}"
            )
        async with db.scope(uuid.UUID(admin.tenant_id)):
            stuck = await db.fetch("SELECT id, status FROM executions WHERE status IN ('pending', 'running')")
        assert not stuck, f"executions left waiting for a publish that failed: {stuck}"

        await rabbit.start()
        back = time.monotonic()
        await eventually(ready_status, lambda s: s == 200, "ready after the broker returned", RECONNECT_S)

        async def chat_works() -> bool:
            try:
                async with chat(platform, session, admin.token) as ws:
                    execution = await ws.message("[[reply:4]]")
                    if not execution:
                        return False
                    final = await ws.reply(execution)
                    return final["type"] == "execution.completed" and final["text"] == fake_reply(4)
            except (AssertionError, KeyError, TimeoutError, OSError):
                return False

        assert await eventually(chat_works, bool, "a chat reply after the broker returned", RECONNECT_S)

        tenant = await make_tenant()
        event = usage(tenant, await priced_model(), 100, 10)
        connection = await aio_pika.connect(rabbit.url)
        async with connection:
            channel = await connection.channel()
            await channel.default_exchange.publish(
                aio_pika.Message(encode(event), content_type="application/json"),
                routing_key=f"{platform.env['HB_AMQP_PREFIX']}hirebuddha.usage",
            )

        async def entries() -> int:
            async with db.scope(system=True):
                row = await db.fetchrow(
                    "SELECT count(*) AS n FROM ledger_entries WHERE tenant_id = $1", tenant
                )
            return row["n"]

        await eventually(entries, lambda n: n == 2, "the ledger to price after reconnecting", RECONNECT_S)
        assert time.monotonic() - back < RECONNECT_S * 2
