"""The live actors of this process, by address; stopped actors remove themselves."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runtime.actor import Actor

log = logging.getLogger("hirebuddha.actor")

EscalationHandler = Callable[["Actor", BaseException], None]


def _log_escalation(actor: Actor, exc: BaseException) -> None:
    log.error("%s escalated %r", actor.address, exc)


class ActorRegistry:
    """Lookup, count and graceful shutdown of the actors running in this process.

    `on_escalate` receives every `ESCALATE` decision (the actor has already stopped); the
    actors process uses it to nack the execution's message or fail the execution.
    """

    def __init__(self, on_escalate: EscalationHandler | None = None) -> None:
        self._actors: dict[str, Actor] = {}
        self._on_escalate = on_escalate or _log_escalation

    def register(self, actor: Actor) -> None:
        """Add a starting actor; an address is unique while its actor is alive."""
        if actor.address in self._actors:
            raise ValueError(f"{actor.address} is already running in this process")
        self._actors[actor.address] = actor

    def unregister(self, actor: Actor) -> None:
        """Remove a stopped actor (called by the actor itself: passivation)."""
        if self._actors.get(actor.address) is actor:
            del self._actors[actor.address]

    def get(self, address: str) -> Actor | None:
        """The live actor at `address`, or None."""
        return self._actors.get(address)

    def __contains__(self, address: object) -> bool:
        return address in self._actors

    def __len__(self) -> int:
        return len(self._actors)

    @property
    def count(self) -> int:
        """Number of live actors."""
        return len(self._actors)

    def escalate(self, actor: Actor, exc: BaseException) -> None:
        """Hand an escalated failure to the handler; a failing handler is only logged."""
        try:
            self._on_escalate(actor, exc)
        except Exception:
            log.exception("escalation handler failed for %s", actor.address)

    # A grace period, not a cancel scope (see Actor.stop).
    async def stop_all(self, timeout: float = 10.0) -> int:  # noqa: ASYNC109
        """Stop every actor, draining mailboxes, within `timeout` seconds overall.

        Actors still running at the deadline are cancelled (their `on_stop` still runs).
        Returns how many actors were stopped.
        """
        actors = list(self._actors.values())
        if actors:
            await asyncio.gather(*(a.stop(timeout=timeout) for a in actors))
        return len(actors)
