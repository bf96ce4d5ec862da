"""The actor contract: ordering, ask/tell, supervision, passivation, shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from runtime.actor import Actor
from runtime.registry import ActorRegistry
from runtime.supervision import (
    ActorDeadError,
    ActorTimeoutError,
    Directive,
    SupervisionStrategy,
    TransientError,
)

FAST = SupervisionStrategy(max_restarts=3, base_backoff_s=0.001, max_backoff_s=0.01)


class Recorder(Actor):
    """Records messages; answers asks with the message; raises on request."""

    strategy = FAST

    def __init__(self, actor_id: Any) -> None:
        super().__init__(actor_id)
        self.seen: list[Any] = []
        self.starts = 0
        self.stops = 0

    async def on_start(self) -> None:
        self.starts += 1

    async def on_receive(self, message: Any) -> Any:
        if isinstance(message, BaseException):
            raise message
        if message == "slow":
            await asyncio.sleep(3600)
        self.seen.append(message)
        return message

    async def on_stop(self) -> None:
        self.stops += 1


async def test_mailbox_handles_messages_one_at_a_time_in_order() -> None:
    registry = ActorRegistry()
    actor = Recorder("order").start(registry)
    for i in range(100):
        actor.tell(i)
    assert await asyncio.wait_for(actor.ask("last"), 2) == "last"
    assert actor.seen == [*range(100), "last"]
    await actor.stop(timeout=2)


async def test_ask_returns_the_answer_and_the_error() -> None:
    actor = Recorder("ask").start()
    assert await asyncio.wait_for(actor.ask({"x": 1}), 2) == {"x": 1}
    with pytest.raises(ValueError, match="bad"):
        await asyncio.wait_for(actor.ask(ValueError("bad")), 2)
    await actor.stop(timeout=2)


async def test_pending_asks_fail_with_actor_dead_when_actor_stops_first() -> None:
    actor = Recorder("dead").start()
    actor.tell("slow")
    pending = actor.ask("never handled")
    await actor.stop(drain=False, timeout=0.05)
    with pytest.raises(ActorDeadError):
        await asyncio.wait_for(pending, 2)
    with pytest.raises(ActorDeadError):
        actor.ask("after stop")
    with pytest.raises(ActorDeadError):
        actor.tell("after stop")
    assert actor.stops == 1, "on_stop must run even when the task was cancelled"


async def test_transient_error_restarts_with_backoff_and_redelivers() -> None:
    class Flaky(Recorder):
        failures = 2

        async def on_receive(self, message: Any) -> Any:
            if self.failures:
                self.failures -= 1
                raise TransientError("provider hiccup")
            return await super().on_receive(message)

    actor = Flaky("flaky").start()
    assert await asyncio.wait_for(actor.ask("job"), 2) == "job"
    assert actor.restarts == 2
    assert actor.starts == 3, "each restart runs on_start again"
    assert actor.alive
    await actor.stop(timeout=2)


async def test_restarts_are_bounded_then_the_actor_stops() -> None:
    registry = ActorRegistry()
    actor = Recorder("bounded").start(registry)
    with pytest.raises(TransientError):
        await asyncio.wait_for(actor.ask(TransientError("always")), 2)
    await asyncio.wait_for(actor.stopped.wait(), 2)
    assert actor.restarts == FAST.max_restarts
    assert isinstance(actor.failure, TransientError)
    assert "actor.bounded" not in registry


def test_backoff_grows_exponentially_and_is_capped() -> None:
    strategy = SupervisionStrategy(base_backoff_s=0.1, max_backoff_s=0.5, jitter=False)
    assert [strategy.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    jittered = SupervisionStrategy(base_backoff_s=0.1, max_backoff_s=0.5)
    assert all(0 <= jittered.backoff(3) <= 0.4 for _ in range(50))


async def test_resume_drops_the_message_and_keeps_state() -> None:
    class Resumer(Recorder):
        async def on_failure(self, exc: BaseException, message: Any) -> Directive:
            return Directive.RESUME

    actor = Resumer("resume").start()
    actor.tell("a")
    with pytest.raises(KeyError):
        await asyncio.wait_for(actor.ask(KeyError("x")), 2)
    assert await asyncio.wait_for(actor.ask("b"), 2) == "b"
    assert actor.seen == ["a", "b"] and actor.starts == 1
    await actor.stop(timeout=2)


async def test_escalate_stops_the_actor_and_reaches_the_registry_handler() -> None:
    escalated: asyncio.Queue[tuple[str, BaseException]] = asyncio.Queue()

    class Escalator(Recorder):
        async def on_failure(self, exc: BaseException, message: Any) -> Directive:
            return Directive.ESCALATE

    registry = ActorRegistry(on_escalate=lambda a, e: escalated.put_nowait((a.address, e)))
    actor = Escalator("esc").start(registry)
    actor.tell(RuntimeError("boom"))
    address, exc = await asyncio.wait_for(escalated.get(), 2)
    assert address == "actor.esc" and str(exc) == "boom"
    await asyncio.wait_for(actor.stopped.wait(), 2)


async def test_failures_in_every_hook_never_escape_the_actor_task() -> None:
    class Broken(Recorder):
        async def on_start(self) -> None:
            raise RuntimeError("start failed")

        async def on_stop(self) -> None:
            raise RuntimeError("stop failed")

    loop_errors: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, ctx: loop_errors.append(ctx))
    try:
        actor = Broken("broken").start()
        with pytest.raises(ActorDeadError):
            await asyncio.wait_for(actor.ask("x"), 2)
        await asyncio.wait_for(actor.stopped.wait(), 2)
        assert isinstance(actor.failure, RuntimeError)
    finally:
        loop.set_exception_handler(previous)
    assert loop_errors == []
    assert (await asyncio.wait_for(Recorder("after").start().ask("alive"), 2)) == "alive"


async def test_per_message_timeout_is_a_supervised_failure() -> None:
    class Slow(Recorder):
        timeout = 0.05

    actor = Slow("slowpoke").start()
    with pytest.raises(ActorTimeoutError):
        await asyncio.wait_for(actor.ask("slow"), 2)
    await asyncio.wait_for(actor.stopped.wait(), 2)


async def test_registry_finds_live_actors_and_forgets_finished_ones() -> None:
    registry = ActorRegistry()
    actor = Recorder("live").start(registry)
    assert registry.get("actor.live") is actor and registry.count == 1
    with pytest.raises(ValueError, match="already running"):
        Recorder("live").start(registry)
    await actor.stop(timeout=2)
    assert registry.get("actor.live") is None and len(registry) == 0


async def test_idle_actor_passivates() -> None:
    class Idle(Recorder):
        idle_timeout = 0.02

    registry = ActorRegistry()
    actor = Idle("idle").start(registry)
    await asyncio.wait_for(actor.stopped.wait(), 2)
    assert "actor.idle" not in registry and actor.stops == 1


async def test_stop_all_drains_mailboxes_then_cancels_stragglers() -> None:
    registry = ActorRegistry()
    polite = [Recorder(f"polite{i}").start(registry) for i in range(5)]
    for actor in polite:
        actor.tell("queued")
    stuck = Recorder("stuck").start(registry)
    stuck.tell("slow")
    assert await registry.stop_all(timeout=0.2) == 6
    assert len(registry) == 0
    assert all(a.seen == ["queued"] and a.stops == 1 for a in polite)
    assert stuck.stops == 1 and not stuck.alive
