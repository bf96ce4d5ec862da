"""Billing an attempt that died mid-reply: its progress, recorded as it streams, billed once.

A SIGKILLed actors process publishes nothing more, yet the provider already produced (and
charges for) the tokens it streamed. So the running attempt writes its `Progress` onto its
execution row with every heartbeat (`store.heartbeat`: the statement it runs anyway, nothing
per token), and whoever ends the dead attempt's ownership publishes ONE usage event for it:
the attempt that takes over (`store.claim` returns the row's progress) or the sweeper that
fails the row. The event carries the id the dead attempt's own usage event would have had
(`usage_event_id(execution, attempt, call)`), so if the dead attempt did publish before it
died, the ledger prices the first of the two and drops the other: billed once, either way.
Tokens streamed after the last heartbeat are the part this cannot see.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Any

import msgspec
from faststream.rabbit import RabbitBroker

from runtime.broker import Topology
from runtime.messages import UsageRecorded, utcnow
from runtime.publishing import publish_usage

log = logging.getLogger("hirebuddha.actors")

USAGE_NAMESPACE = uuid.UUID("6f1d3c2e-4b9a-5e47-8c1d-2a7b9e0f3c55")


def usage_event_id(execution_id: uuid.UUID, attempt: int, call: int) -> uuid.UUID:
    """The id of the usage event of provider call `call` of `attempt`.

    Deterministic, so publishing the same call's usage again (a lost confirm, a retried
    publish, the progress of an attempt that died) is priced once: the ledger inserts by
    unique event id. A redelivered execution runs under a new attempt and makes new
    provider calls, which are new, real charges.
    """
    return uuid.uuid5(USAGE_NAMESPACE, f"{execution_id}:{attempt}:{call}")


class Progress(msgspec.Struct, kw_only=True):
    """What one attempt's current provider call has consumed so far (counted by us)."""

    attempt: int
    call: int
    agent_id: uuid.UUID
    model: str
    provider: str
    input_tokens: int
    output_tokens: int
    at: datetime = msgspec.field(default_factory=utcnow)

    def usage(self, execution_id: uuid.UUID, tenant_id: uuid.UUID) -> UsageRecorded:
        """The usage event of this progress, under the call's own event id."""
        return UsageRecorded(
            event_id=usage_event_id(execution_id, self.attempt, self.call),
            tenant_id=tenant_id,
            execution_id=execution_id,
            agent_id=self.agent_id,
            model=self.model,
            provider=self.provider,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            counted=True,
            occurred_at=self.at,
        )


def to_column(progress: Progress) -> str:
    """The JSON text stored in executions.progress."""
    return msgspec.json.encode(progress).decode()


def from_column(value: Any) -> Progress | None:
    """The stored progress (asyncpg gives jsonb as text), None when there is none or it is unreadable."""
    if value is None:
        return None
    try:
        return msgspec.convert(json.loads(value) if isinstance(value, str) else value, Progress)
    except (ValueError, msgspec.ValidationError):
        log.warning("unreadable execution progress %r: not billed", value)
        return None


async def bill_dead_attempt(
    broker: RabbitBroker,
    topo: Topology,
    execution_id: uuid.UUID,
    tenant_id: uuid.UUID,
    stored: Any,
    before_attempt: int | None = None,
) -> bool:
    """Publish the usage of the attempt recorded in `stored` (executions.progress).

    `before_attempt`: the attempt that takes over; progress it wrote itself is not a dead
    attempt's. True when an event was published.
    """
    progress = from_column(stored)
    if progress is None or (before_attempt is not None and progress.attempt >= before_attempt):
        return False
    log.info(
        "execution %s: billing attempt %d that died (%d in, %d out tokens)",
        execution_id,
        progress.attempt,
        progress.input_tokens,
        progress.output_tokens,
    )
    await publish_usage(broker, topo, progress.usage(execution_id, tenant_id))
    return True
