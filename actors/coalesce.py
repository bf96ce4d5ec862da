"""Delta coalescing: the first piece of text goes out at once, later ones in ~15 ms batches.

One broker message per token costs far more than one per batch (docs/architecture.md "Pitfalls") and
the first token decides perceived latency, so only the pieces after it wait for the window.
Every flushed batch gets the next `seq` (1, 2, 3 ... without gaps) and stays in `chunks`,
which is the live actor's buffer for a reconnecting client's `resume`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

Emit = Callable[[int, str], Awaitable[None]]

WINDOW_S = 0.015


class Coalescer:
    """Collect text pieces and emit them as numbered deltas."""

    def __init__(self, emit: Emit, window_s: float = WINDOW_S) -> None:
        self._emit, self._window = emit, window_s
        self._parts: list[str] = []
        self._timer: asyncio.Task[None] | None = None
        # Assigning a seq and emitting it happen under one lock, so deltas leave in seq order
        # even when the timer's flush and a final flush race.
        self._lock = asyncio.Lock()
        self.chunks: list[str] = []
        """Text of every emitted delta; `chunks[i]` is seq `i + 1`."""
        self._error: Exception | None = None

    @property
    def seq(self) -> int:
        """The last seq emitted (0 before the first delta)."""
        return len(self.chunks)

    @property
    def text(self) -> str:
        """Everything received so far, emitted or not."""
        return "".join(self.chunks) + "".join(self._parts)

    async def add(self, piece: str) -> None:
        """Take one piece of text; the first is emitted now, the rest within the window."""
        if not piece:
            return
        self._raise_timer_error()
        self._parts.append(piece)
        if not self.chunks and not self._lock.locked():
            await self.flush()
        elif self._timer is None:
            self._timer = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._window)
        self._timer = None
        try:
            await self.flush()
        except Exception as exc:
            # Nobody awaits this task: the next `add` or `close` raises the error, so a delta
            # that could not be published (broker gone) fails the attempt instead of leaving
            # a silent gap in the stream ("Task exception was never retrieved").
            self._error = exc

    def _raise_timer_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    async def flush(self) -> None:
        """Emit whatever is pending as one delta."""
        async with self._lock:
            if not self._parts:
                return
            text = "".join(self._parts)
            self._parts.clear()
            self.chunks.append(text)
            await self._emit(len(self.chunks), text)

    async def close(self) -> None:
        """Stop the timer and emit the rest (end of the provider stream)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._raise_timer_error()
        await self.flush()

    def discard(self) -> None:
        """Stop the timer and drop pending text (the attempt is abandoned)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._parts.clear()

    def after(self, seq: int) -> list[str]:
        """Texts of the deltas after `seq` (a resume's missing part)."""
        return self.chunks[max(seq, 0) :]
