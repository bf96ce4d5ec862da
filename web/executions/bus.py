"""The web process's side of RabbitMQ for executions: queue them, cancel them, tell sessions.

`Bus` is opened once per process in the app lifespan (`open_bus`). `dispatch` and
`cancel` combine the database step of `service` with the message that must follow it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from faststream.rabbit import RabbitBroker

from runtime import metrics, telemetry
from runtime.broker import Topology, actor_address, build_broker, declare_topology, topology
from runtime.executions import ExecutionStatus, Submission, announce_end
from runtime.messages import (
    CancelExecution,
    ExecutionCancelled,
    ExecutionRequested,
    ExecutionStarted,
    InboxChanged,
    SessionEventBase,
    SnapshotRequest,
    StreamEvent,
    encode,
)
from runtime.publishing import StreamPublisher, publish_control, publish_execution
from runtime.settings import Settings
from web.auth.identity import Principal
from web.executions import service
from web.executions.service import Rejected, Submitted

log = logging.getLogger("hirebuddha.web")

PUBLISH_TIMEOUT_S = 5.0
"""How long admission waits for the broker to confirm an execution before answering 503."""


@dataclass
class Bus:
    """Confirmed publishing (executions, control) and cheap stream events."""

    broker: RabbitBroker
    topo: Topology
    streams: StreamPublisher

    async def event(self, event: StreamEvent) -> None:
        """Publish a stream event to its session's (or execution's) subscribers."""
        await self.streams.publish(event)

    async def session_event(self, event: SessionEventBase | InboxChanged) -> None:
        """Publish a session event (every web process's sockets of the session) or an inbox
        change (every inbox socket of the tenant): over RabbitMQ, never by polling."""
        await self.streams.publish_session(event)

    async def request_snapshot(
        self, execution_id: uuid.UUID, after_seq: int, reply_to: str, correlation_id: str
    ) -> None:
        """Ask the live actor of `execution_id` for its deltas after `after_seq`."""
        await self.broker.publish(
            encode(SnapshotRequest(execution_id=execution_id, after_seq=after_seq)),
            exchange=self.topo.control_all,
            routing_key=actor_address(execution_id),
            mandatory=False,
            reply_to=reply_to,
            correlation_id=correlation_id,
            content_type="application/json",
        )


@asynccontextmanager
async def open_bus(settings: Settings) -> AsyncIterator[Bus]:
    """Connect, declare the topology (idempotent) and yield the bus; close on exit."""
    broker = build_broker(settings)
    await broker.connect()
    try:
        topo = topology(settings.broker.prefix)
        await declare_topology(broker, topo)
        streams = StreamPublisher(broker, topo)
        await streams.start()
        yield Bus(broker, topo, streams)
    finally:
        await broker.stop()


async def dispatch(bus: Bus, me: Principal, sub: Submission) -> Submitted:
    """Admit, write and queue one execution; interrupt the session's earlier ones first.

    A `queued` execution (`sub.wait_for_slot`, tenant at its limit) is not published here:
    an actor publishes it when a slot of the tenant frees (`web.jobs` "Fairness").
    """
    with telemetry.span("admission", attributes={"hb.tenant_id": str(me.tenant_id)}):
        try:
            sent = await service.submit(me, sub)
        except Rejected as exc:
            metrics.ADMISSIONS.labels(exc.code).inc()
            raise
    metrics.ADMISSIONS.labels(
        "duplicate" if sent.duplicate else "queued" if sent.queued else "admitted"
    ).inc()
    if sent.duplicate:
        return sent
    for earlier in sent.interrupted:
        await cancel(bus, me, earlier, reason="interrupted")
    if sent.queued:
        return sent
    request = ExecutionRequested(
        execution_id=sent.execution_id,
        tenant_id=me.tenant_id,
        session_id=sub.session_id,
        agent_id=sub.agent_id,
        input=sub.content,
        message_id=sent.message_id,
        correlation_id=sub.correlation_id,
        reply_to=sub.reply_to,
        source=sub.source,
        webhook_url=sub.webhook_url,
    )
    try:
        # Bounded: while the broker is down the robust channel waits for a reconnection
        # without end, which held a chat message unanswered (tests/test_faults_broker.py).
        async with asyncio.timeout(PUBLISH_TIMEOUT_S):
            await publish_execution(bus.broker, bus.topo, request, sent.tier)
    except Exception as exc:
        log.exception("could not queue execution %s", sent.execution_id)
        await service.mark_unqueued(me.tenant_id, sent.execution_id)
        raise Rejected("unavailable", "The work queue is unavailable; retry shortly.", 503) from exc
    if sub.session_id is not None:  # the session's other sockets learn of it too
        await bus.event(
            ExecutionStarted(
                execution_id=sent.execution_id, session_id=sub.session_id, message_id=sent.message_id
            )
        )
    return sent


async def cancel(bus: Bus, me: Principal, execution_id: uuid.UUID, reason: str = "user") -> dict[str, Any]:
    """Cancel an execution: a pending or queued one here and now, a running one through its actor.

    Returns the execution's row as it is after this step (a running one still says
    `running`: its actor reports `execution.cancelled` when the stream is closed). A queued
    one never reaches an actor, so its result (reply_to, results exchange, webhook) is sent
    from here; a pending one's actor still consumes its request and sends it.
    """
    row, cancelled = await service.cancel_waiting(me, execution_id)
    if row is None:
        raise Rejected("not_found", "Execution not found.", 404)
    if cancelled is not None:
        await bus.event(ExecutionCancelled(execution_id=execution_id, session_id=row["session_id"]))
        if cancelled.was == ExecutionStatus.QUEUED:
            await announce_end(bus.broker, bus.topo, cancelled.row)
    elif row["status"] == ExecutionStatus.RUNNING:
        await publish_control(bus.broker, bus.topo, CancelExecution(execution_id=execution_id, reason=reason))
    return row
