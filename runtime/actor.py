"""The actor contract: one mailbox, one task, messages handled one at a time in order.

Subclass `Actor`, override the hooks, `start()` it into an `ActorRegistry`, then `tell` or
`ask`. Whatever a hook raises is caught in the actor's own task and decided by supervision
(`runtime.supervision`); it never reaches the event loop, so one actor cannot take down
the process. Long work inside `on_receive` holds the mailbox: an actor that must react to
a control message (cancel) mid-work runs that work in a task of its own.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from runtime.mailbox import STOP, Envelope, Mailbox
from runtime.supervision import (
    ActorDeadError,
    ActorTimeoutError,
    Directive,
    SupervisionStrategy,
)

if TYPE_CHECKING:
    from runtime.registry import ActorRegistry

log = logging.getLogger("hirebuddha.actor")


class Actor:
    """Base class; `address` is `actor.<actor_id>` (the execution id for agent actors)."""

    strategy: SupervisionStrategy = SupervisionStrategy()
    timeout: float | None = None
    """Seconds allowed to `on_start` and to each `on_receive`; None for no limit."""
    idle_timeout: float | None = None
    """Stop (passivate) after this many seconds with an empty mailbox; None to never."""

    def __init__(self, actor_id: Any) -> None:
        self.actor_id = str(actor_id)
        self.address = f"actor.{self.actor_id}"
        self.restarts = 0
        self.failure: BaseException | None = None
        """The error that stopped the actor, if one did."""
        self._mailbox = Mailbox()
        self._task: asyncio.Task[None] | None = None
        self._registry: ActorRegistry | None = None
        self._stopping = False
        self.stopped = asyncio.Event()

    # --- hooks ---------------------------------------------------------------------------

    async def on_start(self) -> None:
        """Prepare state before the first message; runs again before each restart.

        Runs in the actor's task. If it raises, the error is supervised like a failed
        message: a restart runs it again after backoff; otherwise the actor stops and
        pending asks fail with ActorDeadError.
        """

    async def on_receive(self, message: Any) -> Any:
        """Handle one message; the return value answers an `ask`.

        Runs in the actor's task, one message at a time, in mailbox order. If it raises (or
        exceeds `timeout`), `on_failure` picks a directive; the asker gets the error unless
        a restart redelivers the message and it then succeeds.
        """

    async def on_failure(self, exc: BaseException, message: Any) -> Directive:
        """Choose what to do about `exc` (message is None when `on_start` failed).

        Runs in the actor's task. Defaults to `self.strategy.decide(exc)`. If this hook
        itself raises, the actor stops with that error.
        """
        return self.strategy.decide(exc)

    async def on_stop(self) -> None:
        """Release resources after the last message; best-effort.

        Runs in the actor's task, also when the actor failed or was killed. An error here
        is logged and ignored: the actor is stopped either way.
        """

    # --- lifecycle -----------------------------------------------------------------------

    def start(self, registry: ActorRegistry | None = None) -> Actor:
        """Register the actor and start its task; returns self."""
        if self._task is not None:
            raise RuntimeError(f"{self.address} already started")
        if registry is not None:
            registry.register(self)
            self._registry = registry
        self._task = asyncio.create_task(self._run(), name=self.address)
        return self

    @property
    def alive(self) -> bool:
        """True from `start` until the actor's task has finished."""
        return self._task is not None and not self.stopped.is_set()

    def tell(self, message: Any) -> None:
        """Queue a message without waiting; raises ActorDeadError if the actor stopped."""
        self._mailbox.put(Envelope(message))

    def ask(self, message: Any) -> asyncio.Future[Any]:
        """Queue a message; the future gets `on_receive`'s answer or error.

        The future fails with ActorDeadError if the actor stops before answering.
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._mailbox.put(Envelope(message, future))
        return future

    # A grace period, not a cancel scope: at the deadline we cancel the task and still
    # wait for on_stop, which a caller-side asyncio.timeout would cut short.
    async def stop(self, *, drain: bool = True, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Stop the actor and wait until `on_stop` has run.

        With `drain`, messages already queued are handled first; without it, only the
        message in hand finishes and pending asks fail with ActorDeadError. After
        `timeout` seconds the task is cancelled (the message in hand is abandoned).
        """
        if self._task is None:
            return
        if not self._mailbox.closed:
            if drain:
                self._mailbox.put(STOP)
            else:
                self._stopping = True
                self._mailbox.close(self.address)
        try:
            await asyncio.wait_for(asyncio.shield(self.stopped.wait()), timeout)
        except TimeoutError:
            self._task.cancel()
            await asyncio.wait({self._task})

    # --- the actor's task ----------------------------------------------------------------

    async def _run(self) -> None:
        try:
            if await self._start_supervised():
                await self._loop()
        except asyncio.CancelledError:
            log.warning("%s killed", self.address)
        except Exception as exc:  # a bug in this class; still must not escape the task
            log.exception("%s crashed", self.address)
            self.failure = exc
        finally:
            await self._finish()

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                item = await asyncio.wait_for(self._mailbox.get(), self.idle_timeout)
            except TimeoutError:
                log.debug("%s passivated after %ss idle", self.address, self.idle_timeout)
                return
            if item is STOP or not isinstance(item, Envelope):
                return
            await self._handle(item)

    async def _handle(self, envelope: Envelope) -> None:
        while True:
            envelope.attempts += 1
            try:
                envelope.answer(await self._timed(self.on_receive(envelope.message)))
                return
            except Exception as exc:
                if not await self._supervise(exc, envelope.message):
                    envelope.fail(exc)
                    return

    async def _start_supervised(self) -> bool:
        while True:
            try:
                await self._timed(self.on_start())
                return True
            except Exception as exc:
                if not await self._supervise(exc, None):
                    return False

    async def _supervise(self, exc: Exception, message: Any) -> bool:
        """Apply the directive for `exc`; True means "try the same thing again"."""
        try:
            directive = await self.on_failure(exc, message)
        except Exception as hook_exc:
            log.exception("%s on_failure raised; stopping", self.address)
            directive, exc = Directive.STOP, hook_exc
        if directive is Directive.RESUME:
            log.warning("%s resumed after %r", self.address, exc)
            return False
        if directive is Directive.RESTART and self.restarts < self.strategy.max_restarts:
            self.restarts += 1
            delay = self.strategy.backoff(self.restarts)
            log.warning("%s restart %d in %.3fs after %r", self.address, self.restarts, delay, exc)
            await asyncio.sleep(delay)
            return message is None or await self._start_supervised()
        log.error("%s stopping (%s) after %r", self.address, directive.value, exc)
        self.failure, self._stopping = exc, True
        if directive is Directive.ESCALATE and self._registry is not None:
            self._registry.escalate(self, exc)
        return False

    async def _timed(self, coro: Any) -> Any:
        deadline = asyncio.timeout(self.timeout)
        try:
            async with deadline:
                return await coro
        except TimeoutError as exc:
            if deadline.expired():  # ours, not a TimeoutError raised by the hook itself
                raise ActorTimeoutError(f"{self.address} exceeded {self.timeout}s") from exc
            raise

    async def _finish(self) -> None:
        self._mailbox.close(self.address)
        try:
            await self.on_stop()
        except Exception:
            log.exception("%s on_stop raised (ignored)", self.address)
        finally:
            if self._registry is not None:
                self._registry.unregister(self)  # passivation: a stopped actor is not found
            self.stopped.set()


__all__ = ["Actor", "ActorDeadError"]
