"""After an execution ends: its job result, its webhook, and the tenant's next queued jobs.

Runs in the execution's task (`ExecutionRun.execute`) after the result is stored and
before the start message is acked, so a crash in between repeats these steps on the
redelivery (results and webhooks are at-least-once; consumers dedupe by execution_id).
The sweeper reports the executions it fails the same way (`actors.sweeper`); a queued job
cancelled over REST is reported by the web process (`web.executions.bus.cancel`).
`promote_forever` is the safety net for a promotion lost to a crash.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Any

from actors.workflow_store import workflow_of
from runtime import executions
from runtime.messages import WORKFLOW_AGENT, ExecutionRequested
from runtime.publishing import publish_execution

if TYPE_CHECKING:
    from actors.execution import ActorContext

log = logging.getLogger("hirebuddha.actors")


async def report(ctx: ActorContext, execution_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
    """Publish the result of a queue job (or of any execution with a `reply_to`) and ask
    for its webhook; then start the tenant's queued executions that now have a slot."""
    row = await executions.ended(execution_id, tenant_id)
    await report_row(ctx, row, tenant_id)


async def report_row(ctx: ActorContext, row: Any, tenant_id: uuid.UUID) -> None:
    """`report` for an ended row already in hand (None: not ended, only promote)."""
    if row is not None:
        await executions.announce_end(ctx.broker, ctx.topo, row)
    await promote(ctx, tenant_id)


async def promote(ctx: ActorContext, tenant_id: uuid.UUID) -> int:
    """Publish the tenant's queued executions that fit its concurrency limit now."""
    promoted = await executions.promote(tenant_id)
    await publish_promoted(ctx, tenant_id, promoted)
    return len(promoted)


async def publish_promoted(
    ctx: ActorContext, tenant_id: uuid.UUID, promoted: list[executions.Promoted]
) -> None:
    """Start the executions `executions.promote` moved to `pending` (after its commit)."""
    for job in promoted:
        # A workflow run has no agent: its request names the workflow instead.
        workflow_id = None if job.agent_id is not None else await workflow_of(job.execution_id, tenant_id)
        request = ExecutionRequested(
            execution_id=job.execution_id,
            tenant_id=tenant_id,
            agent_id=job.agent_id or WORKFLOW_AGENT,
            workflow_id=workflow_id,
            input=job.input,
            correlation_id=job.correlation_id,
            reply_to=job.reply_to,
            source=job.source,
            webhook_url=job.webhook_url,
            session_id=job.session_id,
            message_id=job.message_id,
        )
        await publish_execution(ctx.broker, ctx.topo, request, job.tier)


async def promote_forever(ctx: ActorContext, interval_s: float) -> None:
    """Every `interval_s`, promote for every tenant with queued executions."""
    while True:
        try:
            for tenant_id in await executions.tenants_waiting():
                await promote(ctx, tenant_id)
        except Exception:
            log.exception("promotion round failed")
        await asyncio.sleep(interval_s)
