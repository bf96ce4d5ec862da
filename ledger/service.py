"""Ledger rules: a batch of usage events becomes chained, priced, idempotent entries.

One call of `record_batch` is one transaction: price every event at the rates of its own
time, skip what is already recorded, link each tenant's new entries into its hash chain,
insert, debit prepaid credit, settle budget reservations, commit. The caller acks the
messages only after it returns.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from ledger import budget_repository as budget_repo
from ledger import repository as repo
from ledger.chain import Entry, next_timestamp
from ledger.pricing import (
    Amounts,
    AppliedRate,
    Commission,
    PricingError,
    as_utc,
    price,
    round6,
)
from runtime import db
from runtime.messages import UsageRecorded

RESOURCES = ("input_tokens", "output_tokens", "embedding_tokens")
TOKENS_UNIT = "tokens"
"""Unit of an entry's quantity: tokens, whatever unit the rates are quoted per."""


class ChainConflict(RuntimeError):
    """An entry was inserted concurrently after we linked the chain; retry the transaction."""


class CorrectionError(ValueError):
    """A correction that must not be written (unknown entry, already reversed, a reversal)."""


def entry_event_id(event_id: UUID, resource_type: str) -> UUID:
    """The ledger key of one resource of one usage event (the UNIQUE event_id column).

    A usage event carries input and output tokens, priced at different rates, so it becomes
    up to two entries; deriving their keys by UUIDv5 keeps them stable across redeliveries.
    """
    return uuid.uuid5(event_id, resource_type)


def reversal_event_id(original_event_id: UUID) -> UUID:
    """Key of the reversal of an entry: at most one reversal per entry, by the UNIQUE index."""
    return uuid.uuid5(original_event_id, "reversal")


@dataclass
class BatchResult:
    """What `record_batch` did with each event (by position in the input)."""

    entries: list[Entry] = field(default_factory=list)
    """Entries committed now, in chain order per tenant (for live events)."""
    recorded: set[int] = field(default_factory=set)
    """Positions whose entries now exist (new or already there): ack them."""
    duplicates: int = 0
    """Events (or in-batch copies) that were already recorded."""
    rejected: dict[int, str] = field(default_factory=dict)
    """Positions that can never be priced, with the reason: dead-letter them."""


def _metadata(
    event: UsageRecorded, rate: AppliedRate, amounts: Amounts, commission: Commission | None
) -> str:
    """What the entry was priced from: enough for `ledger verify` to re-derive its amounts."""
    meta: dict[str, object] = {
        "source_event_id": str(event.event_id),
        "occurred_at": as_utc(event.occurred_at).isoformat(timespec="microseconds"),
        "agent_id": str(event.agent_id),
        "provider": event.provider,
        "counted": event.counted,
        "rate": {
            "system_rate_id": str(rate.system_rate_id),
            "partner_rate_id": None if rate.partner_rate_id is None else str(rate.partner_rate_id),
            "cost_rate": str(rate.cost_rate),
            "cost_unit": rate.cost_unit,
            "price_rate": str(rate.price_rate),
            "price_unit": rate.price_unit,
        },
        "commission": None if commission is None else {"pct": str(commission.pct), "basis": commission.basis},
    }
    if amounts.negative_margin:
        meta["negative_margin"] = True  # priced below platform cost: flagged for review
    return json.dumps(meta, sort_keys=True, separators=(",", ":"))


def _validate(event: UsageRecorded) -> str | None:
    if min(event.input_tokens, event.output_tokens, event.embedding_tokens) < 0:
        return "negative token count"
    if not event.model:
        return "empty model"
    return None


async def _price_events(events: Sequence[UsageRecorded], result: BatchResult) -> dict[int, list[Entry]]:
    """Unchained entries per event position; unpriceable events go to `result.rejected`."""
    tenants = await repo.tenants(e.tenant_id for e in events)
    book = await repo.rate_book(
        (e.model for e in events), (t.partner_id for t in tenants.values() if t.partner_id)
    )
    priced: dict[int, list[Entry]] = {}
    for pos, event in enumerate(events):
        reason = _validate(event)
        billing = tenants.get(event.tenant_id)
        if reason is None and billing is None:
            reason = f"unknown tenant {event.tenant_id}"
        if reason is not None:
            result.rejected[pos] = reason
            continue
        assert billing is not None
        lines: list[Entry] = []
        try:
            for resource in RESOURCES:
                quantity = getattr(event, resource)
                if quantity == 0:
                    continue
                rate = book.resolve(event.model, resource, billing.partner_id, event.occurred_at)
                amounts = price(quantity, rate, billing.commission)
                lines.append(
                    Entry(
                        id=uuid.uuid4(),
                        tenant_id=event.tenant_id,
                        partner_id=billing.partner_id,
                        execution_id=event.execution_id,
                        event_id=entry_event_id(event.event_id, resource),
                        model=event.model,
                        resource_type=resource,
                        quantity=round6(Decimal(quantity)),
                        unit=TOKENS_UNIT,
                        platform_cost=amounts.platform_cost,
                        tenant_cost=amounts.tenant_cost,
                        partner_commission=amounts.partner_commission,
                        reverses_id=None,
                        created_at=datetime.now(UTC),  # replaced when chained
                        entry_metadata=_metadata(event, rate, amounts, billing.commission),
                    )
                )
        except PricingError as exc:
            result.rejected[pos] = str(exc)
            continue
        priced[pos] = lines
    return priced


async def _append(entries: Sequence[Entry]) -> list[Entry]:
    """Chain, insert and debit `entries` (tenant locks held); returns them as stored."""
    by_tenant: dict[UUID, list[Entry]] = defaultdict(list)
    for e in entries:
        by_tenant[e.tenant_id].append(e)
    chained: list[Entry] = []
    for tenant_id, items in by_tenant.items():
        prev_hash, prev_at = await repo.chain_head(tenant_id)
        for e in items:
            at = next_timestamp(datetime.now(UTC), prev_at)
            linked = Entry(**{**e.__dict__, "created_at": at}).chained(prev_hash)
            chained.append(linked)
            prev_hash, prev_at = linked.entry_hash, at
    inserted = await repo.insert_entries(chained)
    if len(inserted) != len(chained):
        # Only possible if another writer slipped in despite the lock; our chain is stale.
        raise ChainConflict(f"{len(chained) - len(inserted)} entries already present")
    for tenant_id, items in by_tenant.items():
        await repo.debit_credit(tenant_id, sum((e.tenant_cost for e in items), Decimal(0)))
    await budget_repo.settle(_spent_by_execution(chained))
    return chained


def _spent_by_execution(entries: Sequence[Entry]) -> dict[UUID, Decimal]:
    """tenant_cost per execution of new usage entries: what their reservations settle.

    Reversals are left out: a refund must not resurrect a hold the execution released.
    """
    spent: dict[UUID, Decimal] = defaultdict(Decimal)
    for e in entries:
        if e.execution_id is not None and e.reverses_id is None:
            spent[e.execution_id] += e.tenant_cost
    return dict(spent)


async def record_batch(events: Sequence[UsageRecorded]) -> BatchResult:
    """Record a batch in one transaction (see the module docstring); idempotent per event."""
    result = BatchResult()
    async with db.scope(system=True):
        priced = await _price_events(events, result)
        seen: set[UUID] = set()
        fresh: list[Entry] = []
        for pos, lines in priced.items():
            result.recorded.add(pos)
            if events[pos].event_id in seen:  # the same event twice in one batch
                result.duplicates += 1
                continue
            seen.add(events[pos].event_id)
            fresh.extend(lines)
        # Lock before reading what exists: a concurrent writer's commit is then visible.
        await repo.lock_tenants(e.tenant_id for e in fresh)
        existing = await repo.existing_event_ids(e.event_id for e in fresh)
        if existing:
            result.duplicates += len(
                {events[p].event_id for p, ls in priced.items() if ls and ls[0].event_id in existing}
            )
        result.entries = await _append([e for e in fresh if e.event_id not in existing])
    return result


async def reverse_entry(entry_id: UUID, reason: str) -> Entry:
    """Write the reversing entry of `entry_id` (negated quantity and amounts) and refund.

    Idempotent: the reversal's key is derived from the original's, so a second call raises
    CorrectionError instead of reversing twice. The original is never touched.
    """
    async with db.scope(system=True):
        original = await repo.entry(entry_id)
        if original is None:
            raise CorrectionError(f"no ledger entry {entry_id}")
        if original.reverses_id is not None:
            raise CorrectionError(f"entry {entry_id} is itself a reversal")
        await repo.lock_tenants([original.tenant_id])
        if await repo.existing_event_ids([reversal_event_id(original.event_id)]):
            raise CorrectionError(f"entry {entry_id} is already reversed")
        platform_cost, tenant_cost, commission = original.amounts.negated()
        meta = {"reason": reason, "reverses_event_id": str(original.event_id)}
        reversal = Entry(
            id=uuid.uuid4(),
            tenant_id=original.tenant_id,
            partner_id=original.partner_id,
            execution_id=original.execution_id,
            event_id=reversal_event_id(original.event_id),
            model=original.model,
            resource_type=original.resource_type,
            quantity=round6(-original.quantity),
            unit=original.unit,
            platform_cost=platform_cost,
            tenant_cost=tenant_cost,
            partner_commission=commission,
            reverses_id=original.id,
            created_at=datetime.now(UTC),
            entry_metadata=json.dumps(meta, sort_keys=True, separators=(",", ":")),
        )
        (stored,) = await _append([reversal])
    return stored
