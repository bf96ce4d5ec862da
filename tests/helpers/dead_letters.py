"""The run ends with exactly the dead letters its tests made on purpose.

A dead letter is a message nobody could process; one that no test asked for is a bug (every
finished execution was once dead-lettered, and nothing noticed). So a test that dead-letters
on purpose says so with the `expect_dead_letters` fixture, naming its letters by a predicate
and, where the number is certain, how many; at the end of the run (`tests/conftest.py`,
before the database goes) `check` reads every letter of the run, from the `dead_letters`
table (what the web processes' sinks stored) and from every dead-letter queue of the run's
RabbitMQ vhost (each platform of a test has its own AMQP prefix, and what its sink had not
stored yet is still queued there), and fails the run listing every letter nobody expected
and every expectation whose count did not come true.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import pytest

DEAD_LETTER_QUEUE_SUFFIX = "hirebuddha.dead_letters"


@dataclass(frozen=True)
class Letter:
    """One dead letter, read from the table or still in a dead-letter queue."""

    where: str
    """`table`, or the name of the queue it still sits in."""
    reason: str
    routing_key: str
    correlation_id: str | None
    message_id: str | None
    body: bytes
    headers: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        preview = self.body[:120].decode("utf-8", "replace")
        return (
            f"[{self.where}] reason={self.reason!r} routing_key={self.routing_key!r} "
            f"correlation_id={self.correlation_id!r} body={preview!r}"
        )


@dataclass
class Expectation:
    """Letters one test makes on purpose."""

    test: str
    match: Callable[[Letter], bool]
    count: int | None
    """Exactly this many letters match; None when the number is not certain (at least 0)."""
    why: str
    found: list[Letter] = field(default_factory=list)


EXPECTED: list[Expectation] = []
"""Every expectation the tests of this run declared (one pytest process per run)."""


@pytest.fixture
def expect_dead_letters(request: pytest.FixtureRequest) -> Iterator[Callable[..., None]]:
    """`expect_dead_letters(match, count=None, why="...")`: this test dead-letters on purpose."""

    def expect(match: Callable[[Letter], bool], count: int | None = None, *, why: str) -> None:
        EXPECTED.append(Expectation(request.node.nodeid, match, count, why))

    yield expect


def body_has(marker: str | bytes) -> Callable[[Letter], bool]:
    """A predicate: the letter's body contains `marker`."""
    needle = marker.encode() if isinstance(marker, str) else marker
    return lambda letter: needle in letter.body


def correlation_in(ids: set[str]) -> Callable[[Letter], bool]:
    """A predicate: the letter's correlation id is one of `ids`."""
    return lambda letter: letter.correlation_id in ids


async def _table_letters() -> list[Letter]:
    from runtime import db

    async with db.scope(system=True):  # the app admin's platform-level table
        rows = await db.fetch(
            "SELECT reason, routing_key, correlation_id, body, headers FROM dead_letters ORDER BY created_at"
        )
    letters = []
    for row in rows:
        headers = row["headers"]
        headers = json.loads(headers) if isinstance(headers, str) else dict(headers or {})
        message_id = headers.get("message_id")
        letters.append(
            Letter(
                "table",
                row["reason"],
                row["routing_key"],
                row["correlation_id"],
                str(message_id) if message_id else None,
                bytes(row["body"]),
                headers,
            )
        )
    return letters


def _dead_letter_queues(vhost: str, tries: int = 5) -> list[str]:
    """Dead-letter queues of the vhost. rabbitmqctl fails now and then when many run at once
    on one machine (its Erlang node name clashes: "Distribution failed"): it is retried."""
    argv = ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "--no-table-headers"]
    for attempt in range(1, tries + 1):
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if out.returncode == 0:
            return [name for name in out.stdout.split() if name.endswith(DEAD_LETTER_QUEUE_SUFFIX)]
        if attempt == tries:
            raise RuntimeError(f"rabbitmqctl list_queues failed: {out.stderr.strip()[:300]}")
        time.sleep(attempt)
    raise AssertionError("unreachable")


async def _queued_letters(amqp_url: str, vhost: str) -> list[Letter]:
    from runtime.deadletters import describe

    names = await asyncio.to_thread(_dead_letter_queues, vhost)
    letters: list[Letter] = []
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in names:
            queue = await channel.declare_queue(name, passive=True)
            # Taken for good: the vhost is deleted right after this check.
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                seen = describe(message)
                letters.append(
                    Letter(
                        name,
                        seen["reason"],
                        seen["routing_key"],
                        message.correlation_id,
                        message.message_id,
                        message.body,
                        seen["headers"],
                    )
                )
    return letters


def judge(letters: list[Letter], expected: list[Expectation]) -> list[str]:
    """What is wrong: letters nobody expected, and expected counts that did not come true."""
    problems = []
    for letter in letters:
        owner = next((e for e in expected if e.match(letter)), None)
        if owner is None:
            problems.append(f"unexpected dead letter {letter}")
        else:
            owner.found.append(letter)
    for e in expected:
        if e.count is not None and len(e.found) != e.count:
            problems.append(f"{e.test} expected {e.count} dead letters ({e.why}), found {len(e.found)}")
    return problems


async def check(amqp_url: str, vhost: str) -> None:
    """Fail the run (an error at the last teardown) when the letters are not the expected ones."""
    letters = await _table_letters()
    stored = {(x.body, x.reason, x.correlation_id) for x in letters}
    for letter in await _queued_letters(amqp_url, vhost):
        if (letter.body, letter.reason, letter.correlation_id) not in stored:  # a sink died mid-ack
            letters.append(letter)
    problems = judge(letters, EXPECTED)
    if problems:
        shown = "\n  ".join(problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise AssertionError(f"the run left dead letters no test declared:\n  {shown}{more}")
