"""The whole runtime for end-to-end tests: a web process and actors processes as real
subprocesses, on their own AMQP prefix, answering through the in-process fake LLM.

Its own prefix (not the run's) gives the test exclusive use of the usage queue, so
`UsageTap` can read every usage event the actors publish.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import websockets

from conftest import Process, start_web
from helpers.eventually import eventually
from helpers.fake_llm import FakeLLM
from runtime import db
from runtime.messages import UsageMessage, UsageRecorded, decode

WAIT = 20.0
START_S = 60.0
"""The bound on a process becoming ready: generous, because under `pytest -n` on two cores
several workers start Python processes at once (a bound on waiting, not a speed check)."""
AMQP_URL = os.environ["HB_AMQP_URL"]  # the run's own vhost (conftest)


async def wait_output(proc: Process, text: str, timeout: float = START_S) -> None:
    """Wait until the process has printed `text`; fail with its output otherwise."""

    def printed(output: str) -> bool:
        if text not in output and proc.proc.poll() is not None:
            raise AssertionError(f"process exited:\n{output[-4000:]}")
        return text in output

    await eventually(proc.output, printed, f"{text!r} in the process output", timeout)


@dataclass
class Platform:
    """A running web process plus actors processes sharing one AMQP prefix."""

    base_url: str
    web: Process
    env: dict[str, str]
    actors: list[Process] = field(default_factory=list)

    @property
    def ws_base(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/api/v1"

    async def start_actors(self, *flags: str) -> Process:
        """One more actors process; returns once it consumes."""
        proc = Process("actors", *flags, env=self.env)
        self.actors.append(proc)
        await wait_output(proc, "actors ready")
        return proc

    async def stop(self) -> None:
        # In a thread: Process.stop blocks, and the fake LLM serves from this event loop.
        for proc in [*self.actors, self.web]:
            await asyncio.to_thread(proc.stop)


async def clear_stored_openai_config() -> None:
    """Stored provider settings win over HB_OPENAI_BASE_URL; other tests may store some."""
    async with db.scope(system=True):
        await db.execute("DELETE FROM system_configs WHERE key LIKE 'provider.openai.%'")


@asynccontextmanager
async def running_platform(
    fake_llm: FakeLLM, actors: int = 1, *flags: str, env: dict[str, str] | None = None
) -> AsyncIterator[Platform]:
    """Web + `actors` actors processes on a fresh prefix, the LLM at the fake server; `env`
    adds settings every process gets."""
    await clear_stored_openai_config()
    env = {
        "HB_AMQP_PREFIX": f"test-{uuid.uuid4().hex[:8]}.",
        "HB_OPENAI_BASE_URL": fake_llm.base_url,
        "HB_OPENAI_API_KEY": "test-key",
        **(env or {}),
    }
    base, web = await start_web(env)
    platform = Platform(base, web, env)
    try:
        for _ in range(actors):
            await platform.start_actors(*flags)
        yield platform
    finally:
        await platform.stop()


class UsageTap:
    """Reads the platform's usage queue (the ledger's input) into `events`, a `UsageBatch`
    as the events it carries."""

    def __init__(self, prefix: str) -> None:
        self.queue_name = f"{prefix}hirebuddha.usage"
        self.events: list[UsageRecorded] = []
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> UsageTap:
        self._connection = await aio_pika.connect_robust(AMQP_URL)
        channel = await self._connection.channel()
        queue = await channel.get_queue(self.queue_name)
        await queue.consume(self._on_message)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.close()

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await message.ack()
        async with self._changed:
            usage = decode(message.body, UsageMessage)
            self.events.extend([usage] if isinstance(usage, UsageRecorded) else usage.events)
            self._changed.notify_all()

    def of(self, execution_id: str) -> list[UsageRecorded]:
        """Usage events of one execution."""
        return [e for e in self.events if str(e.execution_id) == execution_id]

    async def wait_for(self, execution_id: str, count: int = 1, timeout: float = WAIT) -> list[UsageRecorded]:
        """Wait until `count` events of the execution arrived."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.of(execution_id)) >= count)
        return self.of(execution_id)


class ChatClient:
    """A chat WebSocket with helpers to send frames and wait for typed frames."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, timeout: float = WAIT) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            frame = json.loads(await self.ws.recv())
        self.frames.append(frame)
        return frame

    async def until(
        self, *types: str, execution_id: str | None = None, timeout: float = WAIT
    ) -> dict[str, Any]:
        """Receive frames until one of `types` (for `execution_id`, if given) arrives."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.recv(timeout)
                if frame["type"] in types and execution_id in (None, frame.get("execution_id")):
                    return frame

    def of(self, execution_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """Frames received for one execution (of one type)."""
        return [f for f in self.frames if f.get("execution_id") == execution_id and kind in (None, f["type"])]

    async def message(self, content: str, client_id: str | None = None) -> str:
        """Send a message; return its execution id from `execution.started`."""
        await self.send({"type": "message", "content": content, "client_id": client_id or uuid.uuid4().hex})
        return (await self.until("execution.started", "error"))["execution_id"]

    async def reply(self, execution_id: str) -> dict[str, Any]:
        """Wait for the execution's final frame."""
        return await self.until(
            "execution.completed", "execution.failed", "execution.cancelled", execution_id=execution_id
        )


@asynccontextmanager
async def chat(platform: Platform, session_id: str, token: str, **connect: Any) -> AsyncIterator[ChatClient]:
    """A chat socket authenticated with a first `auth` frame, after its `ready` frame."""
    async with websockets.connect(f"{platform.ws_base}/sessions/{session_id}/ws", **connect) as ws:
        client = ChatClient(ws)
        await client.send({"type": "auth", "token": token})
        ready = await client.recv()
        assert ready == {"type": "ready", "session_id": session_id}, ready
        yield client


def delta_text(frames: list[dict[str, Any]]) -> tuple[list[int], str]:
    """(seqs, joined text) of the delta frames among `frames`."""
    deltas = [f for f in frames if f["type"] == "delta"]
    return [f["seq"] for f in deltas], "".join(f["text"] for f in deltas)


def fake_reply(tokens: int) -> str:
    """What the fake LLM answers to `[[reply:N]]`."""
    return "".join(f"tok{k} " for k in range(1, tokens + 1))


@asynccontextmanager
async def platform_with_ledger(fake_llm: FakeLLM, *flags: str) -> AsyncIterator[Platform]:
    """`running_platform` with one actors process plus a real ledger consumer on its prefix
    (for tests that read what was billed)."""
    from helpers.ledger import start_ledger_process

    async with running_platform(fake_llm, 1, *flags) as running:
        ledger = await start_ledger_process("--batch-ms", "20", env=running.env)
        try:
            yield running
        finally:
            ledger.stop()
