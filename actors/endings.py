"""What follows an execution's end, for many executions at once (issue 11).

After its result is stored an execution reports its end (`actors.jobs.report`: the job
result and webhook, then the tenant's queued executions that now have a slot) and has its
session reviewed against the tenant's escalation rules (`actors.escalation.review`). Each
was a transaction of its own per execution (three, with the promotion taking the tenant's
admission lock each time): at short replies most of an actors process's CPU per execution.

Here the ends that come within `WINDOW_S` share, per tenant, ONE transaction for the ended
rows and the tenant's escalation rules, then ONE promotion (`hb_promote_alone`, a statement
that is its own transaction, so the admission lock is held only while it runs). What they
found is published after the commits, as before: the results and webhooks, then the
promoted executions. A tenant with escalation rules has each session reviewed as before
(`escalation.review`). Each caller awaits its batch, so the
execution's message is still acked only after these steps (a crash repeats them on the
redelivery, docs/architecture.md); a failed batch raises to every caller of its tenant.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from actors import escalation, jobs
from runtime import db, executions, handover

if TYPE_CHECKING:
    from actors.execution import ActorContext

log = logging.getLogger("hirebuddha.actors")

WINDOW_S = 0.02
"""How long ends collect before their tenant's transaction."""

_ENDED = (
    f"SELECT {executions.ENDED_COLUMNS} FROM executions "  # noqa: S608 (constant SQL)
    "WHERE id = ANY($1::uuid[]) AND tenant_id = $2 AND status IN ('completed', 'failed', 'cancelled')"
)

_End = tuple[uuid.UUID, "uuid.UUID | None", "asyncio.Future[None]"]


class Endings:
    """`report` + `review` of the executions that ended within a window, per tenant."""

    def __init__(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        self._pending: dict[uuid.UUID, list[_End]] = defaultdict(list)
        self._flushing: asyncio.Task[None] | None = None

    async def settle(
        self, execution_id: uuid.UUID, tenant_id: uuid.UUID, session_id: uuid.UUID | None
    ) -> None:
        """Report the end of `execution_id` (stored already) and review its session."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[tenant_id].append((execution_id, session_id, future))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        await asyncio.sleep(WINDOW_S)
        pending, self._pending = self._pending, defaultdict(list)
        self._flushing = None
        await asyncio.gather(*(self._settle(t, ends) for t, ends in pending.items()))

    async def _settle(self, tenant_id: uuid.UUID, ends: list[_End]) -> None:
        try:
            await self._settle_tenant(tenant_id, ends)
        except Exception as exc:
            for *_, future in ends:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:  # the loop is going away: nobody is left to report to
            for *_, future in ends:
                future.cancel()
            raise
        for *_, future in ends:
            if not future.done():  # its caller may have been cancelled meanwhile
                future.set_result(None)

    async def _settle_tenant(self, tenant_id: uuid.UUID, ends: list[_End]) -> None:
        rules: Any = None
        async with db.scope(tenant_id):
            rows = await db.fetch(_ENDED, [e[0] for e in ends], tenant_id)
            if any(session_id is not None for _, session_id, _ in ends):
                rules = await handover.rules(tenant_id)
        # Outside that transaction: one statement of its own, so the tenant's admission lock
        # is never held across a round trip to this (busy) process (`executions.promote`).
        promoted = await executions.promote(tenant_id)
        for row in rows:
            await executions.announce_end(self.ctx.broker, self.ctx.topo, row)
        await jobs.publish_promoted(self.ctx, tenant_id, promoted)
        if rules is None:
            return
        for execution_id, session_id, _ in ends:
            if session_id is None:
                continue
            try:  # one session's review failing says nothing of the others'
                await escalation.review(self.ctx.streams, execution_id, tenant_id, session_id)
            except Exception:
                log.exception("execution %s: could not review its escalation rules", execution_id)


_endings: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Endings] = weakref.WeakKeyDictionary()


def endings(ctx: ActorContext) -> Endings:
    """The running loop's `Endings` (one per actors process)."""
    loop = asyncio.get_running_loop()
    found = _endings.get(loop)
    if found is None or found.ctx is not ctx:
        found = _endings[loop] = Endings(ctx)
    return found
