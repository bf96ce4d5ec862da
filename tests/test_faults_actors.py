"""SIGKILL the actors process again and again under load: nothing stuck, nothing billed twice."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from helpers.api import register
from helpers.chat_fixtures import fake_agent, set_max_concurrency
from helpers.eventually import eventually
from helpers.fake_llm import FakeLLM
from helpers.platform import Platform, UsageTap, running_platform
from runtime import db

FAST = ("--heartbeat", "0.3", "--stale-after", "5", "--sweep-interval", "0.2")
TERMINAL = ("completed", "failed", "cancelled")


@pytest.fixture(scope="module", name="platform")
async def platform_fixture(database: str, fake_llm: FakeLLM) -> AsyncIterator[Platform]:
    async with running_platform(fake_llm, 2, *FAST) as running:
        yield running


async def _statuses(ids: list[str]) -> dict[str, tuple[str, int]]:
    async with db.scope(system=True):
        rows = await db.fetch(
            "SELECT id, status, attempt FROM executions WHERE id = ANY($1::uuid[])",
            [uuid.UUID(i) for i in ids],
        )
    return {str(r["id"]): (r["status"], r["attempt"]) for r in rows}


async def _kill_under_load(platform: Platform, executions: int, kills: int) -> None:
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        admin = await register(client)
        await set_max_concurrency(admin.tenant_id, executions)
        bot = await fake_agent(admin)
        async with UsageTap(platform.env["HB_AMQP_PREFIX"]) as usage:
            ids = []
            for i in range(executions):
                r = await admin.post(
                    "/api/v1/executions", json={"agent_id": bot["id"], "input": "[[reply:400]]"}
                )
                assert r.status_code == 202, r.text
                ids.append(r.json()["id"])
            for _ in range(kills):  # kill a working actors process at a random moment, start a new one
                await asyncio.sleep(random.uniform(0.3, 1.2))  # noqa: ASYNC110 - the moment is the point
                victim = platform.actors.pop(random.randrange(len(platform.actors)))
                victim.proc.kill()
                await asyncio.to_thread(victim.proc.wait)
                await platform.start_actors(*FAST)
            states = await eventually(
                lambda: _statuses(ids),
                lambda states: all(s in TERMINAL for s, _ in states.values()),
                "every execution to end",
                timeout=120,
                interval=0.3,
            )
            await asyncio.sleep(1)  # usage events published just before the last acks
            events = list(usage.events)
    assert Counter(s for s, _ in states.values())["cancelled"] == 0
    completed = [i for i, (s, _) in states.items() if s == "completed"]
    assert len(completed) >= executions * 0.9, (
        f"only {len(completed)} of {executions} completed: {Counter(states.values())}"
    )
    for execution_id, (status, final_attempt) in states.items():
        mine = [e for e in events if str(e.execution_id) == execution_id]
        # At most one charge per attempt: an attempt a kill cut short is billed for the progress
        # it recorded, under its own call's event id (published again when it had published
        # before it died: the ledger prices an event id once), and never twice otherwise.
        charges = {e.event_id for e in mine}
        assert len(charges) <= final_attempt, (execution_id, mine)
        if status == "completed":  # ...and its finished attempt is billed in full
            assert any(e.output_tokens == 400 and not e.counted for e in mine), (execution_id, mine)


async def test_repeated_sigkills_during_30_executions_leave_nothing_stuck_or_double_billed(
    platform: Platform,
) -> None:
    """30 background executions while 2 actors processes are SIGKILLed at random moments: every
    execution ends completed or failed, no usage event appears twice, each completed one is
    billed for its finished attempt."""
    await _kill_under_load(platform, 30, 2)


@pytest.mark.soak
async def test_repeated_sigkills_during_200_executions_leave_nothing_stuck_or_double_billed(
    platform: Platform,
) -> None:
    """The same with 200 executions and 6 kills (`make soak`)."""
    await _kill_under_load(platform, 200, 6)
