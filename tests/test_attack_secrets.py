"""Secrets never leak: provider keys and tenant API keys are absent from every response, log
line and error message of this run; API keys are stored only as hashes."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import aio_pika
import httpx

from helpers.api import app_admin, register
from helpers.chat_fixtures import fake_agent, open_session
from helpers.dead_letters import correlation_in
from helpers.eventually import eventually
from helpers.fake_llm import FakeLLM
from helpers.platform import chat, running_platform
from helpers.proclogs import LOGS, secrets_in_logs
from runtime import db
from runtime.settings import get_settings


async def test_provider_and_api_keys_never_reach_responses_logs_or_the_database_in_clear(
    database: str,
    fake_llm: FakeLLM,
    secret_audit: set[str],
    expect_dead_letters,
) -> None:
    """A platform whose actors call the provider with a stored key (and a different env key),
    a successful chat, a provider 401 and 500, a job with a bad agent (dead-lettered with the
    API key in its headers): no API answer, no process log of the run and no dead letter shows
    either provider key or the tenant API key, and the api_keys table holds no key in clear.
    The session-end audit re-greps every log of the run, including later tests'."""
    env_key, stored_key = f"sk-env-{uuid.uuid4().hex}", f"sk-stored-{uuid.uuid4().hex}"
    secret_audit.update({env_key, stored_key})
    async with running_platform(fake_llm, 1) as platform:
        for proc in (platform.web, *platform.actors):
            proc.stop()  # restart both with the distinctive env key instead of "test-key"
        platform.env["HB_OPENAI_API_KEY"] = env_key
        platform.actors.clear()
        from conftest import start_web

        platform.base_url, platform.web = await start_web(platform.env)
        await platform.start_actors()
        async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
            root = await app_admin(client)
            r = await root.put(
                "/api/v1/admin/providers/openai", json={"api_key": stored_key, "base_url": fake_llm.base_url}
            )
            assert r.status_code == 200, r.text
            admin = await register(client)
            created = await admin.post("/api/v1/tenant/api-keys", json={"name": "ops"})
            api_key = created.json()["key"]
            secret_audit.add(api_key)
            bot = await fake_agent(admin)
            session = await open_session(admin, bot["id"])
            async with chat(platform, session, admin.token) as ws:
                for content in ("hello [[reply:3]]", "[[fail:401]]", "[[fail:500]]"):
                    await ws.send({"type": "message", "content": content, "client_id": uuid.uuid4().hex})
                    started = await ws.until("execution.started", "error")
                    assert started["type"] == "execution.started", started
                    final = await ws.reply(started["execution_id"])
                    assert final["type"] in ("execution.completed", "execution.failed"), final
                    assert stored_key not in json.dumps(final) and env_key not in json.dumps(final)
            connection = await aio_pika.connect(get_settings().broker.url)
            bad_job = uuid.uuid4().hex
            expect_dead_letters(correlation_in({bad_job}), 1, why="a job for an unknown agent")
            async with connection:
                channel = await connection.channel()
                jobs = await channel.get_exchange(f"{platform.env['HB_AMQP_PREFIX']}hirebuddha.jobs")
                await jobs.publish(
                    aio_pika.Message(
                        json.dumps({"agent_id": str(uuid.uuid4()), "input": "x"}).encode(),
                        headers={"x-api-key": api_key},
                        content_type="application/json",
                        correlation_id=bad_job,
                    ),
                    routing_key="submit",
                )
            responses = []
            letters = await eventually(
                lambda: root.get("/api/v1/admin/dead-letters"),
                lambda r: "unknown_agent" in r.text,
                "the bad job's dead letter",
                timeout=20,
            )
            responses.append(letters.text)
            for url in (
                "/api/v1/admin/providers",
                "/api/v1/tenant/api-keys",
                "/api/v1/executions",
                "/metrics",
            ):
                who = root if "admin" in url or url == "/metrics" else admin
                responses.append((await who.get(url)).text)
            responses.append((await admin.get(f"/api/v1/sessions/{session}/messages")).text)
            for text in responses:
                for secret in (env_key, stored_key, api_key):
                    assert secret not in text, f"a response shows {secret[:10]}...: {text[:300]}"
        for proc in (platform.web, *platform.actors):
            await asyncio.to_thread(proc.stop)
    async with db.scope(system=True):
        await db.execute("DELETE FROM system_configs WHERE key LIKE 'provider.openai.%'")
        rows = [
            dict(r)
            for r in await db.fetch("SELECT * FROM api_keys WHERE tenant_id = $1", uuid.UUID(admin.tenant_id))
        ]
    assert rows and api_key not in str(rows), "the API key is stored in clear"
    texts = [Path(p).read_text(errors="replace") for p in LOGS]  # noqa: ASYNC240 (small local files)
    assert len(texts) >= 2 and any("execution" in t for t in texts), "the logs checked are empty"
    leaks = secrets_in_logs({env_key, stored_key, api_key, "test-key"})
    assert not leaks, "secrets in process logs:\n" + "\n".join(leaks)
