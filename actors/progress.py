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

A workflow run has several calls in flight (one per running node or map item), so its
column holds a JSON array of `Progress`, each with its `node_id`; the event id is then the
one the node's own usage event would have had (actors/workflow.py `_bill`).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Collection
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
    node_id: str | None = None
    """The workflow node (`node` or `node[i]`) making the call; None for an agent execution."""

    def event_id(self, execution_id: uuid.UUID) -> uuid.UUID:
        """The id the call's own usage event has (or would have had)."""
        if self.node_id is None:
            return usage_event_id(execution_id, self.attempt, self.call)
        return uuid.uuid5(USAGE_NAMESPACE, f"{execution_id}:{self.attempt}:{self.node_id}:{self.call}")

    def usage(self, execution_id: uuid.UUID, tenant_id: uuid.UUID) -> UsageRecorded:
        """The usage event of this progress, under the call's own event id."""
        return UsageRecorded(
            event_id=self.event_id(execution_id),
            tenant_id=tenant_id,
            execution_id=execution_id,
            agent_id=self.agent_id,
            model=self.model,
            provider=self.provider,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            counted=True,
            occurred_at=self.at,
            node_id=self.node_id,
        )


def to_column(progress: Progress | list[Progress]) -> str:
    """The JSON text stored in executions.progress: one call, or a workflow's calls in flight."""
    return msgspec.json.encode(progress).decode()


def from_column(value: Any) -> list[Progress]:
    """The stored calls (asyncpg gives jsonb as text); none when there are none or they are unreadable."""
    if value is None:
        return []
    try:
        data = json.loads(value) if isinstance(value, str) else value
        return msgspec.convert(data if isinstance(data, list) else [data], list[Progress])
    except (ValueError, msgspec.ValidationError):
        log.warning("unreadable execution progress %r: not billed", value)
        return []


async def bill_dead_attempt(
    broker: RabbitBroker,
    topo: Topology,
    execution_id: uuid.UUID,
    tenant_id: uuid.UUID,
    stored: Any,
    before_attempt: int | None = None,
    finished: Collection[str] = (),
) -> bool:
    """Publish the usage of the attempt (calls) recorded in `stored` (executions.progress).

    `before_attempt`: the attempt that takes over; progress it wrote itself is not a dead
    attempt's. `finished`: the workflow nodes (`node` or `node[i]`) the dead attempt recorded
    as completed (not failed). A node's own usage event is published, confirmed, before its
    completion is stored, so such a call is in the progress only because the last heartbeat came before it
    finished: it is not billed again (the ledger would drop the copy by its event id, but the
    copy would carry the tokens of that older heartbeat). True when an event was published.
    """
    published = False
    for call in from_column(stored):
        if before_attempt is not None and call.attempt >= before_attempt:
            continue
        if call.node_id is not None and call.node_id in finished:
            continue
        log.info(
            "execution %s: billing attempt %d that died (%s%d in, %d out tokens)",
            execution_id,
            call.attempt,
            f"node {call.node_id}: " if call.node_id else "",
            call.input_tokens,
            call.output_tokens,
        )
        await publish_usage(broker, topo, call.usage(execution_id, tenant_id))
        published = True
    return published
