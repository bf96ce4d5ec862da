"""Provider faults end to end: real web and actors processes, RabbitMQ, PostgreSQL, and the
fake LLM over real HTTP scripted to fail (`tools.fake_llm_replies` markers).

What is asserted: a transient failure before any text is retried a bounded number of times
(counted at the fake's `GET /_stats`) and then ends `failed` with a message naming the
provider and the cause; a hang ends within the per-call timeout; a malformed or cut stream
never leaves an execution running; a provider's circuit breaker opens after N consecutive
failures and then fails fast without any HTTP request; an agent's `llm_config.fallback`
answers when its primary is down, and the usage event names the provider that answered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from helpers.api import ApiUser, agent
from helpers.chat_fixtures import fake_agent, open_session
from helpers.fake_llm import FakeLLM
from helpers.platform import Platform, UsageTap, chat, fake_reply, running_platform

PROVIDER_TIMEOUT_S = 1.0
ATTEMPTS = 3  # the default `--provider-retries 2`: one call plus two retries
WITH_FALLBACK = {"model": "fake", "provider": "openai", "fallback": {"provider": "demo", "model": "demo-1"}}


@pytest.fixture(scope="module")
async def platform(database: str, fake_llm: FakeLLM) -> AsyncIterator[Platform]:
    # A breaker threshold no test here reaches: these tests count every request.
    flags = ("--provider-timeout", str(PROVIDER_TIMEOUT_S), "--breaker-threshold", "1000")
    async with running_platform(fake_llm, 1, *flags) as running:
        yield running


@pytest.fixture(scope="module")
async def usage(platform: Platform) -> AsyncIterator[UsageTap]:
    async with UsageTap(platform.env["HB_AMQP_PREFIX"]) as tap:
        yield tap


async def requests_made(fake_llm: FakeLLM) -> int:
    """The fake LLM's request counter, read over HTTP like any client would."""
    root = fake_llm.base_url.removesuffix("/v1")
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{root}/_stats")).json()["requests"]


async def run_one(platform: Platform, admin: ApiUser, content: str, llm_config: dict | None = None) -> dict:
    """Send `content` to a new agent's new session (the fake LLM's unless `llm_config`);
    return the final frame."""
    bot = await (agent(admin, llm_config=llm_config) if llm_config else fake_agent(admin))
    session = await open_session(admin, bot["id"])
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message(content)
        final = await ws.reply(execution)
    row = (await admin.get(f"/api/v1/executions/{execution}")).json()
    assert row["status"] == final["type"].removeprefix("execution."), (row, final)
    return final


async def test_a_500_then_success_completes_after_one_retry(
    platform: Platform, admin: ApiUser, fake_llm: FakeLLM
) -> None:
    before = await requests_made(fake_llm)
    final = await run_one(platform, admin, "hi [[flaky:1]] [[reply:5]]")
    assert final["type"] == "execution.completed", final
    assert final["text"] == fake_reply(5)
    assert await requests_made(fake_llm) - before == 2  # the 500, then the answer


async def test_always_500_fails_after_bounded_attempts_with_a_useful_message(
    platform: Platform, admin: ApiUser, fake_llm: FakeLLM
) -> None:
    before = await requests_made(fake_llm)
    final = await run_one(platform, admin, "hi [[fail:500]]")
    assert final["type"] == "execution.failed", final
    assert final["error"]["code"] == "provider_error"
    message = final["error"]["message"]
    assert "'openai'" in message and f"{ATTEMPTS} time" in message and "500" in message, message
    await asyncio.sleep(0.5)  # a further (wrong) retry would show up in the stats by now
    assert await requests_made(fake_llm) - before == ATTEMPTS


async def test_a_hang_fails_within_the_timeout_and_closes_the_streams(
    platform: Platform, admin: ApiUser, fake_llm: FakeLLM
) -> None:
    before = await requests_made(fake_llm)
    dropped = fake_llm.stats.disconnected_streams
    started = time.monotonic()
    final = await run_one(platform, admin, "hi [[hang]]")
    elapsed = time.monotonic() - started
    assert final["type"] == "execution.failed", final
    assert final["error"]["code"] == "provider_timeout"
    assert "'openai'" in final["error"]["message"] and "no data" in final["error"]["message"]
    # Three calls of ~1 s each plus backoff (at most 0.2 + 0.4 s) plus overhead.
    assert ATTEMPTS * PROVIDER_TIMEOUT_S <= elapsed < ATTEMPTS * PROVIDER_TIMEOUT_S + 5, elapsed
    assert await requests_made(fake_llm) - before == ATTEMPTS
    # Every hung stream was closed by the client (no connection left open at the provider).
    async with asyncio.timeout(5):
        await fake_llm.stats.wait_for("disconnected_streams", dropped + ATTEMPTS)


async def test_malformed_sse_is_retried_then_fails_cleanly(
    platform: Platform, admin: ApiUser, fake_llm: FakeLLM
) -> None:
    before = await requests_made(fake_llm)
    final = await run_one(platform, admin, "hi [[bad-sse]]")
    assert final["type"] == "execution.failed", final
    assert final["error"]["code"] == "provider_stream_broken"
    assert "malformed" in final["error"]["message"]
    assert await requests_made(fake_llm) - before == ATTEMPTS


async def test_a_cut_before_any_text_is_retried_then_fails(
    platform: Platform, admin: ApiUser, fake_llm: FakeLLM
) -> None:
    before = await requests_made(fake_llm)
    final = await run_one(platform, admin, "hi [[cut:0]]")
    assert final["type"] == "execution.failed", final
    assert final["error"]["code"] == "provider_stream_broken"
    assert await requests_made(fake_llm) - before == ATTEMPTS


async def test_a_cut_mid_reply_fails_at_once_and_bills_the_partial_call(
    platform: Platform, admin: ApiUser, fake_llm: FakeLLM, usage: UsageTap
) -> None:
    bot = await fake_agent(admin)
    session = await open_session(admin, bot["id"])
    before = await requests_made(fake_llm)
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message("hi [[reply:20]] [[cut:5]]")
        final = await ws.reply(execution)
    assert final["type"] == "execution.failed", final
    assert final["error"]["code"] == "provider_stream_broken"
    assert "mid-reply" in final["error"]["message"]
    assert ws.of(execution, "delta"), "text went out before the cut"
    # Text went out: a retry would stream it twice, so there is none.
    assert await requests_made(fake_llm) - before == 1
    events = await usage.wait_for(execution)
    assert len(events) == 1 and events[0].counted and events[0].output_tokens == 5


async def test_fallback_answers_when_the_primary_is_down(
    platform: Platform, admin: ApiUser, fake_llm: FakeLLM, usage: UsageTap
) -> None:
    bot = await agent(admin, llm_config=WITH_FALLBACK)
    assert bot["llm_config"]["fallback"] == {"provider": "demo", "model": "demo-1"}
    session = await open_session(admin, bot["id"])
    before = await requests_made(fake_llm)
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message("hi [[fail:503]]")
        final = await ws.reply(execution)
    assert final["type"] == "execution.completed", final
    assert final["text"].startswith("You said: hi [[fail:503]]")  # the demo provider's reply
    assert await requests_made(fake_llm) - before == ATTEMPTS  # the primary was tried first
    events = await usage.wait_for(execution)
    assert [(e.provider, e.model) for e in events] == [("demo", "demo-1")]


async def test_a_fallback_with_unknown_fields_is_rejected(admin: ApiUser) -> None:
    r = await admin.post(
        "/api/v1/agents",
        json={
            "name": "Bad",
            "role": "x",
            "llm_config": {"model": "fake", "fallback": {"provider": "demo", "model": "m", "x": 1}},
        },
    )
    assert r.status_code in (400, 422), r.text


async def test_breaker_opens_fails_fast_then_half_opens(
    platform: Platform, admin: ApiUser, fake_llm: FakeLLM
) -> None:
    # A platform of its own: breaker state is per actors process. The cooldown must outlast
    # the five chats checked while the circuit is open: under the parallel suite's load they
    # took 4.06 s once, past a 4 s cooldown.
    cooldown = 8.0
    flags = ("--breaker-threshold", str(ATTEMPTS), "--breaker-cooldown", str(cooldown))
    async with running_platform(fake_llm, 1, *flags) as own:
        before = await requests_made(fake_llm)
        first = await run_one(own, admin, "hi [[fail:500]]")
        opened = time.monotonic()
        assert first["type"] == "execution.failed" and first["error"]["code"] == "provider_error"
        assert await requests_made(fake_llm) - before == ATTEMPTS  # these opened the circuit

        # Open: a call that would succeed fails fast, without reaching the provider.
        before = await requests_made(fake_llm)
        for _ in range(3):
            final = await run_one(own, admin, "hi [[reply:3]]")
            assert final["type"] == "execution.failed", final
            assert final["error"]["code"] == "provider_unavailable"
            assert "'openai'" in final["error"]["message"]
        # An agent with a fallback is answered by it while the circuit is open.
        final = await run_one(own, admin, "hi [[reply:3]]", llm_config=WITH_FALLBACK)
        assert final["type"] == "execution.completed" and final["text"].startswith("You said:")
        assert time.monotonic() - opened < cooldown, "the checks above must run while it is open"
        assert await requests_made(fake_llm) == before  # no request at all while open

        # Half-open after the cooldown: one trial call goes through and closes it.
        await asyncio.sleep(cooldown - (time.monotonic() - opened) + 0.2)
        final = await run_one(own, admin, "hi [[reply:3]]")
        assert final["type"] == "execution.completed" and final["text"] == fake_reply(3)
        assert await requests_made(fake_llm) - before == 1
