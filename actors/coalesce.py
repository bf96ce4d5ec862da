"""Delta coalescing: the first piece of text goes out at once, later ones on a ~40 ms tick.

One broker message per token costs far more than one per batch (docs/architecture.md "Pitfalls")
and the first token decides perceived latency, so only the pieces after it wait. One
`FlushTick` per event loop (i.e. per actors process) wakes every window and flushes every
coalescer with pending text, and their deltas leave as one broker message
(`runtime.publishing.collecting_deltas`): no timer task per stream, no message per delta.
Every flushed piece gets the next `seq` (1, 2, 3 ... without gaps) and stays in `chunks`,
which is the live actor's buffer for a reconnecting client's `resume`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from runtime.publishing import collecting_deltas

Emit = Callable[[int, str], Awaitable[None]]

WINDOW_S = 0.04
"""40 ms: at a typical 30-80 tokens/s a delta then carries ~2 tokens, which halves the frames
every web process writes (its CPU per token, issue 11), while 25 updates a second still read
as live text; the first token never waits."""
log = logging.getLogger("hirebuddha.actors")


class FlushTick:
    """The process's one flush loop: runs while some coalescer has pending text."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._due: dict[Coalescer, None] = {}  # insertion-ordered set
        self._task: asyncio.Task[None] | None = None

    def schedule(self, coalescer: Coalescer) -> None:
        """Flush `coalescer` on the next tick."""
        self._due[coalescer] = None
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def settled(self) -> None:
        """Wait until no coalescer has text due (every scheduled flush has been sent)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    def cancel(self, coalescer: Coalescer) -> None:
        self._due.pop(coalescer, None)

    async def _run(self) -> None:
        while self._due:
            await asyncio.sleep(self.window_s)
            due, self._due = self._due, {}
            await self.flush(list(due))

    @staticmethod
    async def flush(coalescers: list[Coalescer]) -> None:
        """Take every pending piece now; publish them as one batch per publisher."""
        with collecting_deltas() as batch:
            for coalescer in coalescers:
                await coalescer.flush()
        try:
            await batch.publish()
        except Exception as exc:
            # Nobody awaits the tick: the next `add` or `close` of each coalescer in the
            # batch raises the error, so a delta that could not be published (broker gone)
            # fails the attempt instead of leaving a silent gap in the stream.
            log.warning("a batch of %d deltas was not published: %r", len(coalescers), exc)
            for coalescer in coalescers:
                coalescer.error = exc


_ticks: dict[asyncio.AbstractEventLoop, FlushTick] = {}


def tick() -> FlushTick:
    """The running loop's flush tick (one per process; tests run several loops)."""
    loop = asyncio.get_running_loop()
    found = _ticks.get(loop)
    if found is None:
        for old in [other for other in _ticks if other.is_closed()]:
            del _ticks[old]
        found = _ticks[loop] = FlushTick()
    return found


class Coalescer:
    """Collect text pieces and emit them as numbered deltas."""

    def __init__(self, emit: Emit, window_s: float = WINDOW_S) -> None:
        self._emit = emit
        self._tick = tick() if window_s == WINDOW_S else FlushTick(window_s)
        self._parts: list[str] = []
        self.chunks: list[str] = []
        """Text of every emitted delta; `chunks[i]` is seq `i + 1`."""
        self.error: Exception | None = None
        """Why the tick could not publish this coalescer's deltas (raised by add/close)."""

    @property
    def seq(self) -> int:
        """The last seq emitted (0 before the first delta)."""
        return len(self.chunks)

    @property
    def text(self) -> str:
        """Everything received so far, emitted or not."""
        return "".join(self.chunks) + "".join(self._parts)

    async def add(self, piece: str) -> None:
        """Take one piece of text; the first is emitted now, the rest on the next tick."""
        if not piece:
            return
        self._raise_tick_error()
        self._parts.append(piece)
        if not self.chunks:
            await self.flush()
        elif len(self._parts) == 1:
            self._tick.schedule(self)

    def _raise_tick_error(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    async def flush(self) -> None:
        """Emit whatever is pending as one delta.

        The seq is taken and the delta handed to the publisher without a suspension in
        between, and the publisher writes in call order, so deltas leave in seq order.
        """
        if not self._parts:
            return
        text = "".join(self._parts) if len(self._parts) > 1 else self._parts[0]
        self._parts.clear()
        self.chunks.append(text)
        await self._emit(len(self.chunks), text)

    async def close(self) -> None:
        """Emit the rest now (end of the provider stream)."""
        self._tick.cancel(self)
        self._raise_tick_error()
        await self.flush()

    def discard(self) -> None:
        """Drop pending text (the attempt is abandoned)."""
        self._tick.cancel(self)
        self._parts.clear()

    def after(self, seq: int) -> list[str]:
        """Texts of the deltas after `seq` (a resume's missing part)."""
        return self.chunks[max(seq, 0) :]
