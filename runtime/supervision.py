"""Supervision: what an actor does when handling a message fails.

The choice is explicit per failure (Akka's supervision directives): `RESUME` drops the
message and carries on, `RESTART` runs `on_start` again and redelivers the message after an
exponential backoff with jitter (bounded), `STOP` ends the actor, `ESCALATE` ends it and
hands the error to the registry's escalation handler. The default strategy restarts on a
`TransientError` and stops on anything else.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass


class TransientError(Exception):
    """A failure worth retrying: a dropped connection, a 5xx or a 429 from a provider."""


class ActorDeadError(RuntimeError):
    """The actor stopped before it could handle (or answer) the message."""


class ActorTimeoutError(TimeoutError):
    """Handling one message took longer than the actor's timeout."""


class Directive(enum.Enum):
    """A supervisor's decision about one failure."""

    RESUME = "resume"
    RESTART = "restart"
    STOP = "stop"
    ESCALATE = "escalate"


@dataclass(frozen=True)
class SupervisionStrategy:
    """Bounded retries with exponential backoff and full jitter.

    The n-th restart (1-based) waits a random time in
    `[0, min(max_backoff_s, base_backoff_s * 2 ** (n - 1))]` ("full jitter"), so many actors
    failing together against one provider do not retry in lockstep.
    """

    max_restarts: int = 3
    """Restarts allowed per actor; one more failure stops it."""
    base_backoff_s: float = 0.2
    max_backoff_s: float = 10.0
    jitter: bool = True

    def decide(self, exc: BaseException) -> Directive:
        """Default decision: restart on `TransientError`, stop otherwise."""
        if isinstance(exc, TransientError):
            return Directive.RESTART
        return Directive.STOP

    def backoff(self, restart: int) -> float:
        """Seconds to wait before the `restart`-th restart (1-based)."""
        ceiling = min(self.max_backoff_s, self.base_backoff_s * 2 ** max(restart - 1, 0))
        # Jitter is not security-sensitive; the default PRNG is right here.
        return random.uniform(0, ceiling) if self.jitter else ceiling  # noqa: S311
