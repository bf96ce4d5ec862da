"""Per-provider circuit breakers: stop calling a provider that keeps failing.

State machine (one breaker per provider endpoint):

- closed: calls go through; every transient failure (5xx, 429, timeout, broken stream)
  counts, a success resets the count. `threshold` consecutive failures open it.
- open: for `cooldown_s` seconds every call fails fast with `provider_unavailable`, without
  an HTTP request, so a dead provider is not hammered by every execution and its retries.
- half-open: after the cooldown, exactly one trial call goes through (others still fail
  fast); its success closes the breaker, its failure opens it for another cooldown.

The state lives in memory, per actors process: each process learns on its own that a
provider is down (at most `threshold` failed calls per process). That is enough to stop the
hammering; sharing the state across processes would need a store and is not worth it here.
What the admin console shows is reported on each state change (never per call) through
`on_change`: the actors process writes it to `provider_health` (`runtime.provider_config`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from actors.providers import TransientProviderError

log = logging.getLogger("hirebuddha.actors")

OnChange = Callable[["CircuitBreaker", "str | None"], None]
"""Called with the breaker and the last error (None when it closed) when its state changes."""


class CircuitBreaker:
    """The breaker of one provider (see the module docstring)."""

    def __init__(
        self,
        name: str,
        threshold: int,
        cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: OnChange | None = None,
    ) -> None:
        self.name, self.threshold, self.cooldown_s, self._clock = name, threshold, cooldown_s, clock
        self._on_change = on_change
        self.failures = 0
        """Consecutive transient failures."""
        self.opened_at: float | None = None
        """When the breaker last opened (None while closed)."""
        self._trial = False
        """A half-open trial call is in flight."""

    @property
    def state(self) -> str:
        """`closed`, `open` or `half-open`."""
        if self.opened_at is None:
            return "closed"
        if self._clock() - self.opened_at < self.cooldown_s:
            return "open"
        return "half-open"

    def before_call(self) -> None:
        """Let a call through, or raise `TransientProviderError("provider_unavailable")`."""
        state = self.state
        if state == "closed":
            return
        if state == "half-open" and not self._trial:
            self._trial = True  # this call is the one trial; the others keep failing fast
            return
        assert self.opened_at is not None
        wait = max(0.0, self.cooldown_s - (self._clock() - self.opened_at))
        raise TransientProviderError(
            "provider_unavailable",
            f"Provider {self.name!r} is unavailable after {self.failures} consecutive failures "
            f"(circuit open; next try in {wait:.0f} s).",
        )

    def success(self) -> None:
        """The call worked: close the breaker."""
        was_open = self.opened_at is not None
        self.failures, self.opened_at, self._trial = 0, None, False
        if was_open and self._on_change is not None:
            self._on_change(self, None)

    def failure(self, error: str | None = None) -> None:
        """The call failed transiently: count it; open at the threshold (or on a failed trial)."""
        self.failures += 1
        if self._trial or self.failures >= self.threshold:
            self.opened_at, self._trial = self._clock(), False
            if self._on_change is not None:
                self._on_change(self, error or "failed")

    def release(self) -> None:
        """The call ended neither way (cancelled, permanent error): free the trial slot."""
        self._trial = False


class Breakers:
    """The breakers of one process, created on first use, one per provider key."""

    def __init__(self, threshold: int, cooldown_s: float, report: bool = False) -> None:
        """`ActorsSettings.breaker_threshold` and `.breaker_cooldown` (defaults live there)."""
        self.threshold, self.cooldown_s = threshold, cooldown_s
        self._breakers: dict[str, CircuitBreaker] = {}
        self._report = report
        """Write state changes to `provider_health` (the actors process; not unit tests)."""
        self._reports: set[asyncio.Task[None]] = set()

    def get(self, key: str, name: str) -> CircuitBreaker:
        """The breaker of endpoint `key` (e.g. `openai@https://api.openai.com/v1`); `name` (the
        provider's name, no URL) is what its error messages show to clients."""
        if key not in self._breakers:
            on_change = self._changed if self._report else None
            self._breakers[key] = CircuitBreaker(name, self.threshold, self.cooldown_s, on_change=on_change)
        return self._breakers[key]

    STATES = {"closed": 0, "half-open": 1, "open": 2}

    def gauges(self) -> dict[tuple[str, str], list[tuple[dict[str, str], float]]]:
        """The breakers' state (0 closed, 1 half-open, 2 open) and consecutive failures, per
        provider name, read when /metrics is scraped (`runtime.metrics.register_gauges`)."""
        from runtime.metrics import provider_label

        states: dict[str, int] = {}
        failures: dict[str, int] = {}
        for breaker in list(self._breakers.values()):  # endpoints of one name: the worst
            name = provider_label(breaker.name)
            states[name] = max(states.get(name, 0), self.STATES[breaker.state])
            failures[name] = max(failures.get(name, 0), breaker.failures)
        return {
            (
                "hirebuddha_provider_breaker_state",
                "Circuit breaker per provider: 0 closed, 1 half-open, 2 open",
            ): [({"provider": k}, v) for k, v in states.items()],
            ("hirebuddha_provider_breaker_failures", "Consecutive transient failures per provider"): [
                ({"provider": k}, v) for k, v in failures.items()
            ],
        }

    def _changed(self, breaker: CircuitBreaker, error: str | None) -> None:
        # In the background: a state change must not delay the execution that caused it.
        task = asyncio.create_task(self._write(breaker.name, breaker.state, breaker.failures, error))
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    @staticmethod
    async def _write(name: str, state: str, failures: int, error: str | None) -> None:
        from runtime import provider_config

        try:
            await provider_config.record_health(name, state, failures, error)
        except Exception as exc:  # the console's view is best effort; calls go on
            log.warning("could not record the health of provider %s: %r", name, exc)
