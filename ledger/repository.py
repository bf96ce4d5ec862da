"""Every SQL statement of the ledger; callers open the transaction (`runtime.db.scope`).

The ledger is cross-tenant by nature (one writer for all tenants), so its callers run in
`db.scope(system=True)` and name tenants explicitly in every statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
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
    return {r["id"]: _billing(r) for r in rows}


_BILLING_AND_VERSION = """
SELECT concat_ws('/', s.n, s.closed, s.newest, p.n, p.closed, p.newest) AS version,
       t.id, t.partner_id, pa.commission_pct, pa.commission_basis
FROM (SELECT count(*) AS n, count(valid_to) AS closed, max(created_at) AS newest FROM system_rates) s
CROSS JOIN (SELECT count(*) AS n, count(valid_to) AS closed, max(created_at) AS newest
            FROM partner_rates) p
LEFT JOIN tenants t ON t.id = ANY($1::uuid[])
LEFT JOIN partners pa ON pa.id = t.partner_id
"""


async def tenants_and_rates_version(tenant_ids: Iterable[UUID]) -> tuple[dict[UUID, TenantBilling], str]:
    """`tenants(...)` and a stamp of every rate table, in one round trip.

    Rates are never edited in place: a change inserts a version (and closes the previous one
    in the same transaction), so the count of versions, of closed ones and the newest
    created_at change whenever any rate does. A RateBook loaded under the same stamp is
    still exact.
    """
    rows = await db.fetch(_BILLING_AND_VERSION, list(set(tenant_ids)))
    return {r["id"]: _billing(r) for r in rows if r["id"] is not None}, rows[0]["version"]


def _billing(r: Mapping[str, Any]) -> TenantBilling:
    commission = None
    if r["partner_id"] is not None:
        commission = Commission(r["commission_pct"] or Decimal(0), r["commission_basis"])
    return TenantBilling(r["id"], r["partner_id"], commission)


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


_LOCK = (
    "SELECT count(pg_advisory_xact_lock(hashtextextended('hirebuddha.ledger:' || k, 0))) "
    "FROM (SELECT k FROM unnest(ARRAY[{listed}]::text[]) AS k ORDER BY k) AS ordered"
)


def lock_sql(tenant_ids: Iterable[UUID]) -> str | None:
    """The statement taking each tenant's chain lock until commit, in a fixed order (no
    deadlock); None for no tenant. Run it as a statement of its own, first in the
    transaction (`db.scope(then=...)`, in BEGIN's round trip).

    The queue already has a single active consumer; the lock keeps the chain linear even if
    a second writer (a standby taking over mid-batch, a correction run) overlaps. It is its own
    statement on purpose: in READ COMMITTED a statement reads the snapshot taken when it
    starts, so only a statement that starts after the lock sees the previous writer's commit.
    The tenant ids are inlined: UUID() parses each, and its canonical text needs no quoting.
    """
    keys = sorted({str(UUID(str(t))) for t in tenant_ids})  # str() once per tenant, not per entry
    if not keys:
        return None
    listed = ",".join(f"'{k}'" for k in keys)
    return _LOCK.format(listed=listed)


async def lock_tenants(tenant_ids: Iterable[UUID]) -> None:
    """Take the tenants' chain locks in the current transaction (see `lock_sql`)."""
    statement = lock_sql(tenant_ids)
    if statement is not None:
        await db.execute(statement)


_HEADS = """
SELECT h.tenant_id, h.entry_hash, h.created_at
FROM unnest($1::uuid[]) AS t(tenant_id)
CROSS JOIN LATERAL (
  SELECT tenant_id, entry_hash, created_at FROM ledger_entries
  WHERE tenant_id = t.tenant_id ORDER BY created_at DESC, id DESC LIMIT 1
) AS h
"""


async def heads(tenant_ids: Iterable[UUID]) -> dict[UUID, tuple[str, datetime]]:
    """Each tenant's chain head, (entry_hash, created_at) of its latest entry; tenants
    without entries are absent (see `heads_and_existing` for the plan)."""
    rows = await db.fetch(_HEADS, list(set(tenant_ids)))
    return {r["tenant_id"]: (r["entry_hash"], r["created_at"]) for r in rows}


_HEADS_AND_EXISTING = f"""
SELECT *, NULL::uuid AS event_id FROM ({_HEADS}) AS heads
UNION ALL
SELECT NULL, NULL, NULL, event_id FROM ledger_entries WHERE event_id = ANY($2::uuid[])
"""  # noqa: S608 - constant SQL


async def heads_and_existing(
    tenant_ids: Iterable[UUID], event_ids: Iterable[UUID]
) -> tuple[dict[UUID, tuple[str, datetime]], set[UUID]]:
    """Each tenant's chain head, (entry_hash, created_at) of its latest entry, and which of
    `event_ids` the ledger already holds, in one round trip.

    Tenants without entries are absent from the heads. Served by ledger_entries_tenant_created
    (tenant_id, created_at, id) scanned backwards: the head is the first entry of the tenant's
    range, whatever plan a prepared statement kept) and the event_id unique index.
    """
    rows = await db.fetch(_HEADS_AND_EXISTING, list(set(tenant_ids)), list(event_ids))
    heads = {r["tenant_id"]: (r["entry_hash"], r["created_at"]) for r in rows if r["tenant_id"] is not None}
    return heads, {r["event_id"] for r in rows if r["event_id"] is not None}


_COLUMNS = tuple(c.strip() for c in ENTRY_COLUMNS.split(","))
_NUMERIC = frozenset({"quantity", "platform_cost", "tenant_cost", "partner_commission"})
"""Sent as text and cast by PostgreSQL (`::text[]::numeric[]`, exact): asyncpg's binary
encoding of a Decimal was the costliest part of the batch's parameters."""

# The entries, the credit debits and the budget settlements of one batch in ONE statement
# (data-modifying CTEs run in the statement's one snapshot and commit or roll back together).
# The settle CTE adds each execution's recorded tenant_cost to its budget reservation; the
# debit takes each tenant's active subscription (newest first), whose balance may go
# negative: usage already happened, and admission control is what keeps spend inside the
# credit.
_APPEND = """
WITH inserted AS (
  INSERT INTO ledger_entries (id, tenant_id, partner_id, execution_id, event_id, model,
    resource_type, quantity, unit, platform_cost, tenant_cost, partner_commission, reverses_id,
    created_at, entry_metadata, prev_hash, entry_hash)
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[],
                       $7::text[], $8::text[]::numeric[], $9::text[], $10::text[]::numeric[],
                       $11::text[]::numeric[], $12::text[]::numeric[], $13::uuid[],
                       $14::timestamptz[], $15::text[], $16::text[], $17::text[])
), debit AS (
  UPDATE subscriptions s SET credit_balance = s.credit_balance - d.amount, updated_at = now()
  FROM unnest($18::uuid[], $19::numeric[]) AS d(tenant_id, amount)
  WHERE s.id = (SELECT id FROM subscriptions WHERE tenant_id = d.tenant_id
                ORDER BY (status = 'active') DESC, created_at DESC LIMIT 1)
), settle AS (
  UPDATE budget_reservations r SET spent = r.spent + v.amount, updated_at = now()
  FROM unnest($20::uuid[], $21::numeric[]) AS v(execution_id, amount)
  WHERE r.execution_id = v.execution_id
)
SELECT 1
"""


async def append(
    entries: Sequence[Entry], debits: dict[UUID, Decimal], settlements: dict[UUID, Decimal]
) -> None:
    """Insert chained `entries`, debit each tenant's credit and add each execution's spend to
    its reservation, in one round trip (data-modifying CTEs run whether or not the statement
    reads them). An event id the ledger holds already fails it: UniqueViolationError."""
    if not entries:
        return
    arrays = [
        [str(getattr(e, c)) for e in entries] if c in _NUMERIC else [getattr(e, c) for e in entries]
        for c in _COLUMNS
    ]
    await db.execute(
        _APPEND,
        *arrays,
        list(debits),
        [str(v) for v in debits.values()],
        list(settlements),
        [str(v) for v in settlements.values()],
    )


async def entry(entry_id: UUID) -> Entry | None:
    """One entry by id."""
    row = await db.fetchrow(_SELECT_ENTRIES + "WHERE id = $1", entry_id)
    return None if row is None else Entry.from_row(row)


async def ledger_tenant_ids() -> list[UUID]:
    """Every tenant id, in a stable order (verify walks their chains one by one)."""
    return [r["id"] for r in await db.fetch("SELECT id FROM tenants ORDER BY id")]


async def chain_page(tenant_id: UUID, after: tuple[datetime, UUID] | None, limit: int) -> list[Entry]:
    """Next `limit` entries of a tenant in chain order (created_at, id), after a key.

    Served by ledger_entries_tenant_created (tenant_id, created_at, id) scanned forwards.
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
