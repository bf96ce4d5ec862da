"""Every SQL statement of the ledger; callers open the transaction (`runtime.db.scope`).

The ledger is cross-tenant by nature (one writer for all tenants), so its callers run in
`db.scope(system=True)` and name tenants explicitly in every statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from ledger.chain import Entry
from ledger.pricing import Commission, PartnerRateVersion, RateBook, SystemRateVersion
from runtime import db

ENTRY_COLUMNS = (
    "id, tenant_id, partner_id, execution_id, event_id, model, resource_type, quantity, unit, "
    "platform_cost, tenant_cost, partner_commission, reverses_id, created_at, entry_metadata, "
    "prev_hash, entry_hash"
)
# Statements over every column, written out once; no input ever reaches the SQL text.
_SELECT_ENTRIES = (
    "SELECT id, tenant_id, partner_id, execution_id, event_id, model, resource_type, quantity, "
    "unit, platform_cost, tenant_cost, partner_commission, reverses_id, created_at, "
    "entry_metadata, prev_hash, entry_hash FROM ledger_entries "
)


@dataclass(frozen=True)
class TenantBilling:
    """Who a tenant bills through: its partner (None = direct) and that partner's share."""

    tenant_id: UUID
    partner_id: UUID | None
    commission: Commission | None


async def tenants(tenant_ids: Iterable[UUID]) -> dict[UUID, TenantBilling]:
    """Billing facts of the given tenants; unknown ids are absent from the result."""
    rows = await db.fetch(
        "SELECT t.id, t.partner_id, p.commission_pct, p.commission_basis "
        "FROM tenants t LEFT JOIN partners p ON p.id = t.partner_id WHERE t.id = ANY($1::uuid[])",
        list(set(tenant_ids)),
    )
    out = {}
    for r in rows:
        commission = None
        if r["partner_id"] is not None:
            commission = Commission(r["commission_pct"] or Decimal(0), r["commission_basis"])
        out[r["id"]] = TenantBilling(r["id"], r["partner_id"], commission)
    return out


async def rate_book(models: Iterable[str], partner_ids: Iterable[UUID]) -> RateBook:
    """Every version of the rates of `models` (system) and of those partners (partner).

    All versions, not only current ones: a late event is priced at the rates of its time.
    Served by system_rates_model_valid and partner_rates' partner_id index.
    """
    models = sorted(set(models))
    system = await db.fetch(
        "SELECT id, model, resource_type, unit, rate, billing_rate, valid_from, valid_to "
        "FROM system_rates WHERE model = ANY($1::text[])",
        models,
    )
    partner: Sequence = []
    partners = sorted({p for p in partner_ids if p is not None})
    if partners:
        partner = await db.fetch(
            "SELECT p.id, p.partner_id, p.system_rate_id, s.model, s.resource_type, s.unit, "
            "p.rate, p.valid_from, p.valid_to "
            "FROM partner_rates p JOIN system_rates s ON s.id = p.system_rate_id "
            "WHERE p.partner_id = ANY($1::uuid[]) AND s.model = ANY($2::text[])",
            partners,
            models,
        )
    return RateBook(
        (SystemRateVersion(**dict(r)) for r in system),
        (PartnerRateVersion(**dict(r)) for r in partner),
    )


async def lock_tenants(tenant_ids: Iterable[UUID]) -> None:
    """Take each tenant's chain lock until commit, in a fixed order (no deadlock).

    The queue already has a single active consumer; the lock keeps the chain linear even if
    a second writer (a standby taking over mid-batch, a correction run) overlaps.
    """
    for tenant_id in sorted(set(tenant_ids)):
        await db.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('hirebuddha.ledger:' || $1::text, 0))",
            str(tenant_id),
        )


async def existing_event_ids(event_ids: Iterable[UUID]) -> set[UUID]:
    """Those of `event_ids` already in the ledger (served by the event_id unique index)."""
    rows = await db.fetch(
        "SELECT event_id FROM ledger_entries WHERE event_id = ANY($1::uuid[])", list(event_ids)
    )
    return {r["event_id"] for r in rows}


async def chain_head(tenant_id: UUID) -> tuple[str | None, datetime | None]:
    """(entry_hash, created_at) of the tenant's latest entry, or (None, None).

    Served by ledger_entries_tenant_created (tenant_id, created_at DESC).
    """
    row = await db.fetchrow(
        "SELECT entry_hash, created_at FROM ledger_entries WHERE tenant_id = $1 "
        "ORDER BY created_at DESC, id DESC LIMIT 1",
        tenant_id,
    )
    return (None, None) if row is None else (row["entry_hash"], row["created_at"])


_INSERT = """
INSERT INTO ledger_entries (id, tenant_id, partner_id, execution_id, event_id, model,
  resource_type, quantity, unit, platform_cost, tenant_cost, partner_commission, reverses_id,
  created_at, entry_metadata, prev_hash, entry_hash)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[],
                     $7::text[], $8::numeric[], $9::text[], $10::numeric[], $11::numeric[],
                     $12::numeric[], $13::uuid[], $14::timestamptz[], $15::text[], $16::text[],
                     $17::text[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""


async def insert_entries(entries: Sequence[Entry]) -> set[UUID]:
    """Insert in one statement; returns the event ids actually inserted (conflicts skipped)."""
    if not entries:
        return set()
    columns = [c.strip() for c in ENTRY_COLUMNS.split(",")]
    arrays = [[getattr(e, c) for e in entries] for c in columns]
    rows = await db.fetch(_INSERT, *arrays)
    return {r["event_id"] for r in rows}


async def debit_credit(tenant_id: UUID, amount: Decimal) -> Decimal | None:
    """Subtract `amount` from the tenant's prepaid credit; the new balance, None if no plan.

    The tenant's active subscription (newest first) carries the balance; it may go negative:
    usage already happened, admission control is what keeps spend inside the credit.
    """
    row = await db.fetchrow(
        "UPDATE subscriptions SET credit_balance = credit_balance - $2, updated_at = now() "
        "WHERE id = (SELECT id FROM subscriptions WHERE tenant_id = $1 "
        "            ORDER BY (status = 'active') DESC, created_at DESC LIMIT 1) "
        "RETURNING credit_balance",
        tenant_id,
        amount,
    )
    return None if row is None else row["credit_balance"]


async def entry(entry_id: UUID) -> Entry | None:
    """One entry by id."""
    row = await db.fetchrow(_SELECT_ENTRIES + "WHERE id = $1", entry_id)
    return None if row is None else Entry.from_row(row)


async def ledger_tenant_ids() -> list[UUID]:
    """Every tenant id, in a stable order (verify walks their chains one by one)."""
    return [r["id"] for r in await db.fetch("SELECT id FROM tenants ORDER BY id")]


async def chain_page(tenant_id: UUID, after: tuple[datetime, UUID] | None, limit: int) -> list[Entry]:
    """Next `limit` entries of a tenant in chain order (created_at, id), after a key.

    Served by ledger_entries_tenant_created scanned backwards.
    """
    if after is None:
        rows = await db.fetch(
            _SELECT_ENTRIES + "WHERE tenant_id = $1 ORDER BY created_at, id LIMIT $2",
            tenant_id,
            limit,
        )
    else:
        rows = await db.fetch(
            _SELECT_ENTRIES + "WHERE tenant_id = $1 "
            "AND (created_at, id) > ($2, $3) ORDER BY created_at, id LIMIT $4",
            tenant_id,
            after[0],
            after[1],
            limit,
        )
    return [Entry.from_row(r) for r in rows]


async def totals() -> dict[UUID, tuple[int, Decimal, Decimal, Decimal]]:
    """Per tenant: (entries, platform_cost, tenant_cost, partner_commission) by SQL aggregate."""
    rows = await db.fetch(
        "SELECT tenant_id, count(*) AS n, sum(platform_cost) AS p, sum(tenant_cost) AS t, "
        "sum(partner_commission) AS c FROM ledger_entries GROUP BY tenant_id"
    )
    return {r["tenant_id"]: (r["n"], r["p"], r["t"], r["c"]) for r in rows}


async def reversal_of(entry_id: UUID) -> Entry | None:
    """The entry reversing `entry_id`, if any."""
    row = await db.fetchrow(_SELECT_ENTRIES + "WHERE reverses_id = $1 LIMIT 1", entry_id)
    return None if row is None else Entry.from_row(row)
