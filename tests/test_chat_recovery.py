"""Crashes and orphans: a killed actors process never leaves an execution stuck, billed twice,
or its streamed tokens unbilled."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import aio_pika
import pytest
from test_jobs import JobClient

from actors import store
from actors.progress import Progress, to_column, usage_event_id
from helpers.api import ApiUser
from helpers.chat_fixtures import fake_agent, open_session
from helpers.fake_llm import FakeLLM
from helpers.platform import WAIT, Platform, UsageTap, chat, delta_text, fake_reply, running_platform
from helpers.webhooks import Receiver
from runtime import db

FAST = ("--heartbeat", "0.3", "--stale-after", "5", "--sweep-interval", "0.2")


@pytest.fixture(scope="module", name="platform")
async def platform_fixture(database: str, fake_llm: FakeLLM) -> AsyncIterator[Platform]:
    async with running_platform(fake_llm, 1, *FAST) as running:
        yield running


@pytest.fixture(scope="module", name="usage")
async def usage_fixture(platform: Platform) -> AsyncIterator[UsageTap]:
    async with UsageTap(platform.env["HB_AMQP_PREFIX"]) as tap:
        yield tap


async def orphan_row(
    admin: ApiUser,
    bot: dict,
    *,
    session: str | None = None,
    silent_for: timedelta = timedelta(hours=1),
    **job: str,
) -> uuid.UUID:
    """A row left running by a process that died `silent_for` ago (an hour), its message long
    gone (dead-lettered): only the sweeper can end it. `job`: source, correlation_id, ..."""
    orphan = uuid.uuid4()
    columns = {"source": "chat", **job}
    names = ", ".join(columns)
    values = ", ".join(f"${n}" for n in range(5, 5 + len(columns)))
    since = f"now() - ${5 + len(columns)}::interval"
    async with db.scope(uuid.UUID(admin.tenant_id)):
        await db.execute(
            f"INSERT INTO executions (id, tenant_id, agent_id, session_id, {names}, status, attempt, "  # noqa: S608
            f"input_data, started_at, created_at, updated_at) VALUES ($1, $2, $3, $4, {values}, "
            f"'running', 1, '{{\"input\": \"hi\"}}', {since}, {since}, {since})",
            orphan,
            uuid.UUID(admin.tenant_id),
            uuid.UUID(bot["id"]),
            uuid.UUID(session) if session else None,
            *columns.values(),
            silent_for,
        )
    return orphan


async def recorded_progress(execution: str, tenant_id: str) -> dict:
    """The execution's progress as its running attempt last wrote it, once it has output."""
    async with asyncio.timeout(20):
        while True:  # noqa: ASYNC110 (another process writes the row at its heartbeat)
            async with db.scope(uuid.UUID(tenant_id)):
                row = await db.fetchrow("SELECT progress FROM executions WHERE id = $1", uuid.UUID(execution))
            if row is not None and row["progress"]:
                progress = json.loads(row["progress"])
                if progress["output_tokens"] > 0:
                    return progress
            await asyncio.sleep(0.05)


async def test_sigkill_mid_stream_restarts_on_another_process_and_bills_both_attempts_once(
    platform: Platform, admin: ApiUser, usage: UsageTap
) -> None:
    session = await open_session(admin, (await fake_agent(admin))["id"])
    victim = platform.actors[-1]
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message("[[reply:1500]]")
        for _ in range(3):
            await ws.until("delta", execution_id=execution)
        seen = await recorded_progress(execution, admin.tenant_id)  # a heartbeat recorded tokens
        victim.proc.kill()  # SIGKILL: no goodbye, the message is redelivered
        victim.proc.wait()
        await platform.start_actors(*FAST)
        restarted = await ws.until("execution.restarted", execution_id=execution)
        after = len(ws.frames)
        final = await ws.reply(execution)
    assert restarted["attempt"] == 2
    seqs, text = delta_text([f for f in ws.frames[after:] if f.get("execution_id") == execution])
    assert seqs == list(range(1, len(seqs) + 1)), f"the new attempt's seq run: {seqs}"
    assert final["type"] == "execution.completed" and text == final["text"] == fake_reply(1500)
    row = (await admin.get(f"/api/v1/executions/{execution}")).json()
    assert row["status"] == "completed" and row["attempt"] == 2
    # The killed attempt's streamed tokens are billed (by the attempt that took over), once,
    # under the event id its own usage would have had; the new attempt is billed on its own.
    # Both were published before the final frame (the dead attempt's when attempt 2 began).
    events = await usage.wait_for(execution, 2)
    assert len(events) == 2, f"usage recorded {len(events)} times"
    dead, second = sorted(events, key=lambda e: e.output_tokens)
    assert seen["attempt"] == 1 and dead.event_id == usage_event_id(uuid.UUID(execution), 1, seen["call"])
    assert dead.counted and seen["output_tokens"] <= dead.output_tokens < 1500 and dead.input_tokens > 0
    assert second.output_tokens == 1500 and not second.counted


async def test_graceful_stop_hands_in_flight_work_to_another_process(
    platform: Platform, admin: ApiUser
) -> None:
    session = await open_session(admin, (await fake_agent(admin))["id"])
    leaving = await platform.start_actors(*FAST, "--shutdown-timeout", "0.2")
    for other in platform.actors[:-1]:  # only `leaving` consumes while the message is sent
        await asyncio.to_thread(other.stop)
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message("[[reply:2000]]")
        await ws.until("delta", execution_id=execution)
        # SIGTERM: finish within 0.2 s or hand back. The other process starts only after it:
        # started first, it took longer under the suite's load than the reply's 4 s, and the
        # reply had ended before the signal (no restart to see).
        leaving.proc.terminate()
        await platform.start_actors(*FAST)
        await ws.until("execution.restarted", execution_id=execution)
        final = await ws.reply(execution)
    assert final["type"] == "execution.completed" and final["text"] == fake_reply(2000)
    assert leaving.proc.wait(10) == 0


async def test_sweeper_fails_an_execution_whose_actor_is_gone_and_bills_its_progress(
    platform: Platform, admin: ApiUser, usage: UsageTap
) -> None:
    bot = await fake_agent(admin)
    session = await open_session(admin, bot["id"])
    orphan = uuid.uuid4()
    progress = Progress(
        attempt=1,
        call=2,
        agent_id=uuid.UUID(bot["id"]),
        model="fake",
        provider="openai",
        input_tokens=12,
        output_tokens=340,
    )
    async with chat(platform, session, admin.token) as ws:
        # A row left running by a process that died mid-reply, its message long gone
        # (dead-lettered), its last heartbeat's progress on the row.
        async with db.scope(uuid.UUID(admin.tenant_id)):
            await db.execute(
                "INSERT INTO executions (id, tenant_id, agent_id, session_id, source, status, attempt, "
                "started_at, created_at, updated_at, progress) VALUES ($1, $2, $3, $4, 'chat', 'running', 1, "
                "now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour', $5::jsonb)",
                orphan,
                uuid.UUID(admin.tenant_id),
                uuid.UUID(bot["id"]),
                uuid.UUID(session),
                to_column(progress),
            )
        await ws.send({"type": "resume", "execution_id": str(orphan), "after_seq": 0})
        failed = await ws.until("execution.failed", execution_id=str(orphan))
    assert failed["error"]["code"] == "actor_lost"
    row = (await admin.get(f"/api/v1/executions/{orphan}")).json()
    assert row["status"] == "failed" and row["completed_at"]
    (billed,) = await usage.wait_for(str(orphan))  # published before the failed frame
    assert billed.event_id == usage_event_id(orphan, 1, 2) and billed.counted
    assert (billed.input_tokens, billed.output_tokens, billed.model) == (12, 340, "fake")


async def test_a_job_failed_by_the_sweeper_sends_its_result_and_webhook(
    platform: Platform, admin: ApiUser, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    bot = await fake_agent(admin)
    prefix = platform.env["HB_AMQP_PREFIX"]
    correlation_id = uuid.uuid4().hex
    async with JobClient(prefix) as jobs:
        tenant_results = await jobs.channel.declare_queue(exclusive=True)
        await tenant_results.bind(f"{prefix}hirebuddha.results", routing_key=f"tenant.{admin.tenant_id}")
        broadcasts: asyncio.Queue[bytes] = asyncio.Queue()

        async def on_broadcast(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await broadcasts.put(message.body)

        await tenant_results.consume(on_broadcast, no_ack=True)
        orphan = await orphan_row(
            admin,
            bot,
            source="queue",
            correlation_id=correlation_id,
            reply_to=jobs.reply_queue.name,
            webhook_url=url,
        )
        (result,) = await jobs.result(correlation_id)
        async with asyncio.timeout(WAIT):
            while (broadcast := json.loads(await broadcasts.get()))["execution_id"] != str(orphan):
                pass
    assert result["execution_id"] == str(orphan) and result["status"] == "failed", result
    assert result["error"]["code"] == "actor_lost"
    assert broadcast == result, "the results exchange carries the same result"
    await asyncio.wait_for(hook.delivered.wait(), WAIT * 2)
    assert json.loads(hook.calls[-1][0])["execution_id"] == str(orphan)


def reassemble(frames: list[dict], execution: str, text: str = "", last: int = 0) -> tuple[str, int]:
    """A client's text from its frames, as the console builds it (spa stream.ts): in-order
    deltas append, `execution.restarted` starts over; the final frame's text is not used."""
    for frame in frames:
        if frame.get("execution_id") != execution:
            continue
        if frame["type"] == "execution.restarted":
            text, last = "", 0
        elif frame["type"] == "delta" and frame["seq"] == last + 1:
            text, last = text + frame["text"], frame["seq"]
    return text, last


async def attempt_running(execution: str, tenant_id: str, attempt: int) -> None:
    """Wait until `attempt` of the execution runs (claimed by an actors process)."""
    seen = None
    for _ in range(600):
        async with db.scope(uuid.UUID(tenant_id)):
            row = await db.fetchrow(
                "SELECT attempt, status FROM executions WHERE id = $1", uuid.UUID(execution)
            )
        seen = None if row is None else (row["attempt"], row["status"])
        if seen == (attempt, "running"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"attempt {attempt} never ran: the execution is at {seen}")


async def test_a_resume_after_the_actors_process_died_gets_the_new_attempt_whole(
    platform: Platform, admin: ApiUser
) -> None:
    """A client resumes during attempt 1, leaves at seq N, the actors process is SIGKILLed,
    attempt 2 streams a fresh seq run, and the client resumes after N: it must get
    `execution.restarted` and the new run from seq 1, never attempt 2's deltas after N."""
    session = await open_session(admin, (await fake_agent(admin))["id"])
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message("[[reply:1500]]")
        await ws.until("delta", execution_id=execution)
    text, last = reassemble(ws.frames, execution)
    async with chat(platform, session, admin.token) as ws:  # the first resume: attempt 1 runs
        await ws.send({"type": "resume", "execution_id": execution, "after_seq": last})
        for _ in range(3):
            await ws.until("delta", execution_id=execution)
    text, last = reassemble(ws.frames, execution, text, last)
    assert last > 1 and fake_reply(1500).startswith(text)

    victim = platform.actors[-1]
    victim.proc.kill()  # SIGKILL between the two resumes
    await asyncio.to_thread(victim.proc.wait)
    await platform.start_actors(*FAST)
    await attempt_running(execution, admin.tenant_id, 2)
    async with chat(platform, session, admin.token) as ws:  # the second resume: attempt 2 runs
        await ws.send({"type": "resume", "execution_id": execution, "after_seq": last})
        final = await ws.reply(execution)
    assert ws.of(execution, "execution.restarted"), "the client was never told the reply started over"
    text, _ = reassemble(ws.frames, execution, text, last)
    assert final["type"] == "execution.completed" and final["text"] == fake_reply(1500)
    assert text == final["text"], "the streamed text is not the final reply"


async def test_heartbeats_of_a_tick_share_one_update_and_say_who_still_owns_its_row(
    admin: ApiUser,
) -> None:
    bot = await fake_agent(admin)
    # Live rows from their insert on: this module's sweeper (every 0.2 s) fails rows silent
    # for 5 s, and rows inserted an hour old were at times failed before an UPDATE freshened them.
    live = timedelta(seconds=1)
    mine = await orphan_row(admin, bot, silent_for=live)
    taken_over = await orphan_row(admin, bot, silent_for=live)
    tenant = uuid.UUID(admin.tenant_id)
    beats = store.heartbeats()
    owned, lost, unknown = await asyncio.gather(
        beats.beat(mine, tenant, 1, '{"output_tokens": 7}'),
        beats.beat(taken_over, tenant, 2),  # attempt 2 is not the row's: another took it over
        beats.beat(uuid.uuid4(), tenant, 1),
    )
    assert (owned, lost, unknown) == (True, False, False)
    async with db.scope(tenant):
        rows = {
            r["id"]: r
            for r in await db.fetch(
                "SELECT id, progress, updated_at > now() - interval '500 milliseconds' AS fresh "
                "FROM executions WHERE id = ANY($1::uuid[])",
                [mine, taken_over],
            )
        }
    assert rows[mine]["fresh"] and json.loads(rows[mine]["progress"]) == {"output_tokens": 7}
    assert not rows[taken_over]["fresh"] and rows[taken_over]["progress"] is None
