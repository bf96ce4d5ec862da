"""`AgentActor`: the actor at `actor.<execution_id>` running one execution.

Its mailbox takes control messages (cancel, snapshot requests for a resuming client);
the execution itself runs in a task of its own (`ExecutionRun.execute`), because a long
`on_receive` would hold the mailbox and a cancel could not get through while streaming.
"""

from __future__ import annotations

import asyncio
from typing import Any

from actors.execution import ActorContext, ExecutionRun
from runtime.actor import Actor
from runtime.messages import CancelExecution, ExecutionRequested, SnapshotRequest


class AgentActor(Actor):
    """One execution of one agent; stops (passivates) when the execution has ended."""

    def __init__(self, request: ExecutionRequested, ctx: ActorContext) -> None:
        super().__init__(request.execution_id)
        self.run = ExecutionRun(request, ctx)
        self.work: asyncio.Task[None] | None = None

    async def on_start(self) -> None:
        """Start the execution's task (runs in the actor's task; cannot fail)."""
        self.work = asyncio.create_task(self.run.execute(), name=f"{self.address}.work")

    async def on_receive(self, message: Any) -> Any:
        """Cancel: close the stream now. Snapshot request: answer with the live buffer.

        Runs in the actor's task, between the deltas of the streaming task; unknown
        messages are ignored (a newer sender).
        """
        if isinstance(message, CancelExecution):
            await self.run.cancel(message.reason)
            return None
        if isinstance(message, SnapshotRequest):
            return self.run.snapshot(message.after_seq)
        return None

    async def on_stop(self) -> None:
        """Cancel the execution's task if it still runs (shutdown hand-back); best-effort."""
        if self.work is not None and not self.work.done():
            self.work.cancel()
            await asyncio.wait({self.work})

    async def wait_finished(self) -> None:
        """Wait until the execution has ended (stored and reported, or handed back)."""
        await self.run.finished.wait()
