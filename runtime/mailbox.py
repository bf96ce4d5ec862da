"""An actor's mailbox: a FIFO of envelopes read by exactly one task."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from runtime.supervision import ActorDeadError


@dataclass(slots=True)
class Envelope:
    """One message plus where its answer goes (`reply_to` is None for `tell`)."""

    message: Any
    reply_to: asyncio.Future[Any] | None = None
    attempts: int = field(default=0)
    """How many times handling this message has been tried (restarts redeliver it)."""

    def answer(self, value: Any) -> None:
        """Resolve the asker's future, unless it was cancelled or already resolved."""
        if self.reply_to is not None and not self.reply_to.done():
            self.reply_to.set_result(value)

    def fail(self, exc: BaseException) -> None:
        """Fail the asker's future, unless it was cancelled or already resolved."""
        if self.reply_to is not None and not self.reply_to.done():
            self.reply_to.set_exception(exc)


class _Stop:
    """Sentinel queued by a graceful stop: earlier messages are handled first."""


STOP = _Stop()


class Mailbox:
    """Unbounded FIFO; once closed, `put` raises and pending asks fail with ActorDeadError."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Envelope | _Stop] = asyncio.Queue()
        self.closed = False

    def put(self, item: Envelope | _Stop) -> None:
        """Enqueue without waiting (tell must never block the sender)."""
        if self.closed:
            raise ActorDeadError("mailbox closed")
        self._queue.put_nowait(item)

    async def get(self) -> Envelope | _Stop:
        """The next item, in the order it was put."""
        return await self._queue.get()

    def __len__(self) -> int:
        return self._queue.qsize()

    def close(self, address: str) -> None:
        """Refuse new messages, fail every pending ask with ActorDeadError, wake the reader."""
        self.closed = True
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, Envelope):
                item.fail(ActorDeadError(f"{address} stopped before handling the message"))
        # The reader may be blocked in `get`: leave it a STOP so it wakes and exits.
        self._queue.put_nowait(STOP)
