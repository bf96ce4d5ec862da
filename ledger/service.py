"""Ledger rules: a batch of usage events becomes chained, priced, idempotent entries.

One call of `record_batch` is one transaction: price every event at the rates of its own
time, skip what is already recorded, link each tenant's new entries into its hash chain,
insert, debit prepaid credit, settle budget reservations, commit. The caller acks the
messages only after it returns.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import asyncpg
import msgspec

from ledger import repository as repo
from ledger.chain import TICK, Entry, unstamped
from ledger.pricing import (
    Amounts,
    AppliedRate,
    Commission,
    PricingError,
    RateBook,
    as_utc,
    price,
    round6,
)
from ledger.repository import TenantBilling
from runtime import db
from runtime.messages import UsageRecorded

RESOURCES = ("input_tokens", "output_tokens", "embedding_tokens")
TOKENS_UNIT = "tokens"
"""Unit of an entry's quantity: tokens, whatever unit the rates are quoted per."""


class CorrectionError(ValueError):
    """A correction that must not be written (unknown entry, already reversed, a reversal)."""


def entry_event_id(event_id: UUID, resource_type: str) -> UUID:
    """The ledger key of one resource of one usage event (the UNIQUE event_id column).

    A usage event carries input and output tokens, priced at different rates, so it becomes
    up to two entries; deriving their keys by UUIDv5 keeps them stable across redeliveries.
    Exactly `uuid.uuid5(event_id, resource_type)`, in half its time (one int, no bytes path).
    """
    digest = hashlib.sha1(event_id.bytes + resource_type.encode(), usedforsecurity=False).digest()
    return UUID(int=(int.from_bytes(digest[:16]) & _UUID5_KEEP) | _UUID5_SET)


# The version (5) and variant (RFC 4122) bits, as uuid.UUID(version=5) sets them.
_UUID5_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID5_SET = (0x5 << 76) | (0x8 << 60)


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


def _event_metadata(event: UsageRecorded, commission: Commission | None) -> dict[str, object]:
    """The part of `_metadata` that every entry of one event shares."""
    shared: dict[str, object] = {
        "source_event_id": event.event_id,  # msgspec writes a UUID as str() does
        "occurred_at": as_utc(event.occurred_at).isoformat(timespec="microseconds"),
        "agent_id": event.agent_id,
        "provider": event.provider,
        "counted": event.counted,
        "commission": None if commission is None else _commission_metadata(commission),
    }
    if event.node_id is not None:  # a workflow node's call: execution_id is the run's
        shared["node_id"] = event.node_id
    return shared


@functools.lru_cache(maxsize=1024)
def _commission_metadata(commission: Commission) -> dict[str, str]:
    return {"pct": str(commission.pct), "basis": commission.basis}  # shared, never mutated


@functools.lru_cache(maxsize=1024)
def _rate_metadata(rate: AppliedRate) -> dict[str, str | None]:
    """A rate as metadata; one dict per rate version pair (shared, never mutated)."""
    return {
        "system_rate_id": str(rate.system_rate_id),
        "partner_rate_id": None if rate.partner_rate_id is None else str(rate.partner_rate_id),
        "cost_rate": str(rate.cost_rate),
        "cost_unit": rate.cost_unit,
        "price_rate": str(rate.price_rate),
        "price_unit": rate.price_unit,
    }


def _metadata(shared: dict[str, object], rate: AppliedRate, amounts: Amounts) -> str:
    """What the entry was priced from: enough for `ledger verify` to re-derive its amounts.

    `shared` is `_event_metadata` of its event."""
    meta = {**shared, "rate": _rate_metadata(rate)}
    if amounts.negative_margin:
        meta["negative_margin"] = True  # priced below platform cost: flagged for review
    return _SORTED_JSON(meta).decode()


def _new_id() -> UUID:
    """A random (version 4) entry id without a getrandom syscall per entry: ids must be
    unique, not unguessable (the primary key would refuse a collision, failing the batch)."""
    return UUID(int=_random.getrandbits(128), version=4)


_random = random.Random()  # noqa: S311 - seeded from the OS once; ids are not secrets
_SORTED_JSON = msgspec.json.Encoder(order="sorted").encode


def _validate(event: UsageRecorded) -> str | None:
    if min(event.input_tokens, event.output_tokens, event.embedding_tokens) < 0:
        return "negative token count"
    if not event.model:
        return "empty model"
    return None


class RateCache:
    """The RateBook of the last batches, kept while no rate changed (see
    `repository.tenants_and_rates_version`): most batches then price with no rate query."""

    def __init__(self) -> None:
        self._version: str | None = None
        self._models: frozenset[str] = frozenset()
        self._partners: frozenset[UUID] = frozenset()
        self._book = RateBook()

    async def book(self, version: str, models: set[str], partners: set[UUID]) -> RateBook:
        """The rates of `models` (system) and `partners` (partner) under `version`."""
        if version != self._version or not (models <= self._models and partners <= self._partners):
            if version == self._version:  # same rates, more of them: keep what is loaded too
                models, partners = models | self._models, partners | self._partners
            self._book = await repo.rate_book(models, partners)
            self._version, self._models, self._partners = version, frozenset(models), frozenset(partners)
        return self._book


@dataclass
class Priced:
    """A batch priced before its write transaction (`price_batch`), ready for `write_batch`."""

    result: BatchResult
    """Rejections and in-batch duplicates so far; `recorded` holds every priced position."""
    fresh: list[Entry]
    """Unchained entries of the distinct priced events, in event order."""
    owner: dict[UUID, int]
    """Position of the event each entry key belongs to (entries of one event share it)."""
    bodies: list[bytes | None]
    """The `chain.unstamped` content of each of `fresh`, computed before the write."""


def _entries_of(event: UsageRecorded, billing: TenantBilling, book: RateBook) -> list[Entry]:
    """The unchained entries of one event (one per resource with a quantity)."""
    lines: list[Entry] = []
    shared = _event_metadata(event, billing.commission)
    for resource in RESOURCES:
        quantity = getattr(event, resource)
        if quantity == 0:
            continue
        rate = book.resolve(event.model, resource, billing.partner_id, event.occurred_at)
        amounts = price(quantity, rate, billing.commission)
        # Entry's frozen __init__ sets each of its 17 fields through object.__setattr__: filling
        # __dict__ at once is several times cheaper (as Entry.chained does).
        line = object.__new__(Entry)
        line.__dict__.update(
            id=_new_id(),
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
            created_at=_UNCHAINED,  # stamped when chained
            entry_metadata=_metadata(shared, rate, amounts),
            prev_hash=None,
            entry_hash=None,
        )
        lines.append(line)
    return lines


_UNCHAINED = datetime.min.replace(tzinfo=UTC)


async def price_batch(events: Sequence[UsageRecorded], rates: RateCache | None = None) -> Priced:
    """Price every event at the rates of its own time, in a read-only transaction of its own.

    Runs before (and, in the consumer, while the previous batch commits) the write
    transaction, so no lock is held while Python does the arithmetic. Unpriceable events go
    to `result.rejected`; a second copy of an event in the batch counts as a duplicate.
    """
    result = BatchResult()
    async with db.scope(system=True):
        tenants, version = await repo.tenants_and_rates_version(e.tenant_id for e in events)
        partners = {t.partner_id for t in tenants.values() if t.partner_id}
        book = await (rates or RateCache()).book(version, {e.model for e in events}, partners)
    fresh: list[Entry] = []
    owner: dict[UUID, int] = {}
    seen: set[UUID] = set()
    for pos, event in enumerate(events):
        reason = _validate(event)
        billing = tenants.get(event.tenant_id)
        if reason is None and billing is None:
            reason = f"unknown tenant {event.tenant_id}"
        if reason is not None:
            result.rejected[pos] = reason
            continue
        assert billing is not None
        try:
            lines = _entries_of(event, billing, book)
        except PricingError as exc:
            result.rejected[pos] = str(exc)
            continue
        result.recorded.add(pos)
        if event.event_id in seen:  # the same event twice in one batch
            result.duplicates += 1
            continue
        seen.add(event.event_id)
        fresh.extend(lines)
        owner.update((line.event_id, pos) for line in lines)
    return Priced(result, fresh, owner, [unstamped(e) for e in fresh])


def _chain(
    entries: Sequence[Entry],
    heads: dict[UUID, tuple[str, datetime]],
    bodies: Sequence[bytes | None] | None = None,
) -> list[Entry]:
    """Link each tenant's entries after its head, stamping strictly increasing created_at;
    `bodies` are their `unstamped` contents when computed already (the batch's pricing).

    The clock is read once per batch: every entry is stamped `now`, or one microsecond after
    its tenant's previous entry (chain.next_timestamp), so a batch's entries of one tenant
    take consecutive microseconds from `now` on."""
    now = datetime.now(UTC)
    tails: dict[UUID, tuple[str | None, datetime | None]] = {
        tenant: (entry_hash, as_utc(at)) for tenant, (entry_hash, at) in heads.items()
    }
    chained: list[Entry] = []
    for e, body in zip(entries, [None] * len(entries) if bodies is None else bodies, strict=True):
        prev_hash, prev_at = tails.get(e.tenant_id, (None, None))
        at = now if prev_at is None or prev_at < now else prev_at + TICK
        linked = e.chained(prev_hash, at, body)
        chained.append(linked)
        tails[e.tenant_id] = (linked.entry_hash, at)
    return chained


async def _append(
    entries: Sequence[Entry],
    heads: dict[UUID, tuple[str, datetime]],
    bodies: Sequence[bytes | None] | None = None,
) -> list[Entry]:
    """Chain `entries` after `heads`, insert them, debit credit and settle budget holds, in one
    statement (tenant locks held); returns them as stored."""
    chained = _chain(entries, heads, bodies)
    debits: dict[UUID, Decimal] = defaultdict(Decimal)
    for e in chained:
        debits[e.tenant_id] += e.tenant_cost
    await repo.append(chained, debits, _spent_by_execution(chained))
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


async def write_batch(priced: Priced) -> BatchResult:
    """Record a priced batch in one transaction: lock its tenants, read their chain heads,
    chain, insert, debit, settle (BEGIN with the locks, two statements, COMMIT).

    Optimistic about redeliveries: the batch is written as if none of it were recorded yet,
    and the unique index on event_id is the check (a redelivery is rare: a crash between a
    commit and its ack). When it finds one, the transaction rolls back and the batch is
    written again without what the ledger holds, read under the same locks."""
    done = priced.result  # copied: a retried write starts from the priced state again
    result = replace(done, recorded=set(done.recorded), rejected=dict(done.rejected), entries=[])
    if not priced.fresh:
        return result
    tenants = {e.tenant_id for e in priced.fresh}
    try:
        # Locked before the heads are read: a concurrent writer's commit is then visible.
        async with db.scope(system=True, then=repo.lock_sql(tenants)):
            result.entries = await _append(priced.fresh, await repo.heads(tenants), priced.bodies)
        return result
    except asyncpg.UniqueViolationError as exc:
        if exc.table_name != "ledger_entries":
            raise
    async with db.scope(system=True, then=repo.lock_sql(tenants)):
        heads, existing = await repo.heads_and_existing(tenants, (e.event_id for e in priced.fresh))
        if existing:
            result.duplicates += len({priced.owner[k] for k in existing})
        kept = [i for i, e in enumerate(priced.fresh) if e.event_id not in existing]
        bodies = [priced.bodies[i] for i in kept]
        result.entries = await _append([priced.fresh[i] for i in kept], heads, bodies)
    return result


async def record_batch(events: Sequence[UsageRecorded], rates: RateCache | None = None) -> BatchResult:
    """Price, then record, a batch (see the module docstring); idempotent per event."""
    return await write_batch(await price_batch(events, rates))


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
        heads, existing = await repo.heads_and_existing(
            [original.tenant_id], [reversal_event_id(original.event_id)]
        )
        if existing:
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
        (stored,) = await _append([reversal], heads)
    return stored
