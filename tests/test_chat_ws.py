"""Chat over the WebSocket end to end: web and two actors processes, RabbitMQ, PostgreSQL and
the fake LLM over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from helpers.api import ApiUser
from helpers.chat_fixtures import fake_agent, open_session, set_max_concurrency
from helpers.fake_llm import FakeLLM
from helpers.platform import (
    Platform,
    UsageTap,
    chat,
    delta_text,
    fake_reply,
    running_platform,
)


@pytest.fixture(scope="module")
async def platform(database: str, fake_llm: FakeLLM) -> AsyncIterator[Platform]:
    async with running_platform(fake_llm, 2) as running:
        yield running


@pytest.fixture(scope="module")
async def usage(platform: Platform) -> AsyncIterator[UsageTap]:
    async with UsageTap(platform.env["HB_AMQP_PREFIX"]) as tap:
        yield tap


async def test_reply_streams_in_order_with_usage_and_lands_in_history(
    platform: Platform, admin: ApiUser, usage: UsageTap
) -> None:
    bot = await fake_agent(admin)
    session = await open_session(admin, bot["id"])
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message("hello [[reply:40]]")
        final = await ws.reply(execution)
    seqs, text = delta_text(ws.of(execution))
    assert final["type"] == "execution.completed", final
    assert seqs == list(range(1, len(seqs) + 1)), f"seq has gaps or repeats: {seqs}"
    assert text == fake_reply(40) == final["text"]
    assert final["usage"]["output_tokens"] == 40 and final["usage"]["input_tokens"] > 0
    started = ws.of(execution, "execution.started")
    assert len(started) == 1 and started[0]["message_id"]
    events = await usage.wait_for(execution)
    assert [(e.input_tokens, e.output_tokens, e.counted) for e in events] == [
        (final["usage"]["input_tokens"], 40, False)
    ]
    history = (await admin.get(f"/api/v1/sessions/{session}/messages")).json()
    assert [(m["role"], m["content"]) for m in history] == [
        ("user", "hello [[reply:40]]"),
        ("assistant", fake_reply(40)),
    ]
    row = (await admin.get(f"/api/v1/executions/{execution}")).json()
    assert row["status"] == "completed" and row["started_at"] and row["completed_at"]
    assert row["usage"]["output_tokens"] == 40


async def test_second_turn_sees_the_first_as_history(platform: Platform, admin: ApiUser) -> None:
    bot = await fake_agent(admin)
    session = await open_session(admin, bot["id"])
    async with chat(platform, session, admin.token) as ws:
        first = await ws.message("one [[reply:3]]")
        await ws.reply(first)
        second = await ws.message("two [[reply:3]]")
        final = await ws.reply(second)
    assert final["type"] == "execution.completed"
    # The fake LLM counts the prompt's words: system + user + assistant + user.
    assert final["usage"]["input_tokens"] > ws.of(first, "execution.completed")[0]["usage"]["input_tokens"]


async def test_fifty_concurrent_sessions_over_two_actors_processes_never_cross(
    platform: Platform, admin: ApiUser
) -> None:
    await set_max_concurrency(admin.tenant_id, 100)
    bot = await fake_agent(admin)
    sessions = [await open_session(admin, bot["id"]) for _ in range(50)]

    async def converse(index: int, session: str) -> None:
        tokens = 20 + index
        async with chat(platform, session, admin.token) as ws:
            execution = await ws.message(f"session {index} [[reply:{tokens}]]")
            final = await ws.reply(execution)
        assert final["type"] == "execution.completed", final
        assert {f.get("execution_id") for f in ws.frames[1:]} == {execution}, "frames of another execution"
        seqs, text = delta_text(ws.frames)
        assert seqs == list(range(1, len(seqs) + 1)), f"session {index}: seqs {seqs}"
        assert text == final["text"] == fake_reply(tokens), f"session {index} got another reply"

    await asyncio.gather(*(converse(i, s) for i, s in enumerate(sessions)))
    served = [p.output().count("execution.take") for p in platform.actors]
    assert all(served), f"both actors processes should have taken work: {served}"


async def test_cancel_mid_stream_closes_the_provider_and_records_partial_usage(
    platform: Platform, admin: ApiUser, fake_llm: FakeLLM, usage: UsageTap
) -> None:
    bot = await fake_agent(admin)
    session = await open_session(admin, bot["id"])
    disconnected = fake_llm.stats.disconnected_streams
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message("long one [[reply:5000]]")
        for _ in range(3):
            await ws.until("delta", execution_id=execution)
        sent = time.perf_counter()
        await ws.send({"type": "cancel", "execution_id": execution})
        final = await ws.reply(execution)
        latency_ms = (time.perf_counter() - sent) * 1000
    print(f"cancel latency: {latency_ms:.1f} ms")
    assert final == {"type": "execution.cancelled", "execution_id": execution}
    assert latency_ms < 300, f"cancelled frame took {latency_ms:.0f} ms"
    async with asyncio.timeout(10):
        await fake_llm.stats.wait_for("disconnected_streams", disconnected + 1)
    row = (await admin.get(f"/api/v1/executions/{execution}")).json()
    _, streamed = delta_text(ws.of(execution))
    assert row["status"] == "cancelled" and row["completed_at"]
    assert row["usage"]["counted"] is True
    assert 0 < row["usage"]["output_tokens"] < 5000
    events = await usage.wait_for(execution)
    assert len(events) == 1 and events[0].counted and events[0].output_tokens == row["usage"]["output_tokens"]
    assert row["result_data"]["text"] == streamed


async def test_cancel_of_a_finished_execution_answers_its_final_state(
    platform: Platform, admin: ApiUser
) -> None:
    bot = await fake_agent(admin)
    session = await open_session(admin, bot["id"])
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message("[[reply:2]]")
        await ws.reply(execution)
    async with chat(platform, session, admin.token) as ws:
        await ws.send({"type": "cancel", "execution_id": execution})
        final = await ws.reply(execution)
    assert final["type"] == "execution.completed" and final["text"] == fake_reply(2)


async def test_resume_after_a_dropped_socket_gives_the_rest_exactly_once(
    platform: Platform, admin: ApiUser
) -> None:
    bot = await fake_agent(admin)
    session = await open_session(admin, bot["id"])
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message("[[reply:1500]]")
        for _ in range(3):
            await ws.until("delta", execution_id=execution)
        seen, before = delta_text(ws.of(execution))
    # The socket is gone mid-stream; a new one resumes after the last seq it saw.
    async with chat(platform, session, admin.token) as ws2:
        await ws2.send({"type": "resume", "execution_id": execution, "after_seq": seen[-1]})
        final = await ws2.reply(execution)
    rest_seqs, rest = delta_text(ws2.of(execution))
    assert final["type"] == "execution.completed"
    assert seen + rest_seqs == list(range(1, len(seen) + len(rest_seqs) + 1)), (seen, rest_seqs)
    assert before + rest == fake_reply(1500) == final["text"]


async def test_resume_of_a_finished_execution_replays_the_stored_rest(
    platform: Platform, admin: ApiUser
) -> None:
    bot = await fake_agent(admin)
    session = await open_session(admin, bot["id"])
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message("[[reply:300]]")
        await ws.reply(execution)
    seqs, text = delta_text(ws.of(execution))
    cut = len(seqs) // 2
    async with chat(platform, session, admin.token) as ws2:
        await ws2.send({"type": "resume", "execution_id": execution, "after_seq": cut})
        final = await ws2.reply(execution)
    rest_seqs, rest = delta_text(ws2.of(execution))
    assert rest_seqs == seqs[cut:]
    assert "".join(f["text"] for f in ws.of(execution, "delta")[:cut]) + rest == text == final["text"]
