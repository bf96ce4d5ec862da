"""Invoices from the ledger (docs/billing.md "Invoices").

- A period is a calendar month in UTC, `[start, end)`.
- Closing a period for a tenant puts every ledger entry of that tenant created before the
  period's end and not on an invoice yet onto the period's invoice (`invoice_entries`, keyed
  by the entry, so never on two). An entry that commits after its period's invoice was
  finalized is *late*: it lands on the next period's invoice. So every entry is on exactly
  one invoice once the period after it has closed.
- Lines group the entries by model and resource type; a tenant on a catalog plan also gets
  a line for the plan's fee (billing/plans.py `fee`, already in cents). **Rounding rule**: a line's amount is
  the exact sum of its entries' `tenant_cost` rounded once to cents, half to even; the total
  is the sum of the rounded lines. Nothing else is rounded.
- Numbers are `HB-YYYY-NNNNNN`, given at finalization from a per-year counter updated in
  the same transaction, so a number is used if and only if an invoice took it: gap-free.
- Status: draft -> open (finalized, number given, charge scheduled) -> paid | uncollectible
  | void. A finalized invoice of zero or less is paid at once (nothing to charge).

Every function runs in the caller's transaction (`db.scope`), tenant-scoped or system.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from runtime import clock, db, scheduler

CENT = Decimal("0.01")
DUE_DAYS = 14
CHARGE_JOB = "billing.charge_invoice"


def round_cents(amount: Decimal) -> Decimal:
    """The one rounding rule of invoices: to cents, half to even."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def period_of(at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The calendar month (UTC) holding `at`: `[start, end)`."""
    at = at.astimezone(dt.UTC)
    start = dt.datetime(at.year, at.month, 1, tzinfo=dt.UTC)
    end = dt.datetime(at.year + (at.month == 12), at.month % 12 + 1, 1, tzinfo=dt.UTC)
    return start, end


def number(year: int, seq: int) -> str:
    return f"HB-{year}-{seq:06d}"


async def tenants_to_invoice(before: dt.datetime) -> list[uuid.UUID]:
    """Tenants with ledger entries created before `before` not on any invoice (system scope)."""
    rows = await db.fetch(
        "SELECT DISTINCT e.tenant_id FROM ledger_entries e WHERE e.created_at < $1 "
        "AND NOT EXISTS (SELECT 1 FROM invoice_entries i WHERE i.ledger_entry_id = e.id)",
        before,
    )
    return [r["tenant_id"] for r in rows]


async def draft(tenant_id: uuid.UUID, start: dt.datetime, end: dt.datetime) -> dict[str, Any] | None:
    """The period's invoice with every uninvoiced entry before `end` on it (a draft), or the
    finalized invoice as it is (late entries then wait for the next period)."""
    await db.execute(
        "INSERT INTO invoices (id, tenant_id, invoice_number, total_amount, currency, status, "
        "period_start, period_end, due_date, created_at, updated_at) "
        "VALUES ($1, $2, NULL, 0, 'USD', 'draft', $3, $4, $5, now(), now()) "
        "ON CONFLICT (tenant_id, period_start) DO NOTHING",
        uuid.uuid4(),
        tenant_id,
        start,
        end,
        end + dt.timedelta(days=DUE_DAYS),
    )
    invoice = await db.fetchrow(
        "SELECT * FROM invoices WHERE tenant_id = $1 AND period_start = $2 FOR UPDATE", tenant_id, start
    )
    assert invoice is not None
    if invoice["status"] != "draft":
        return dict(invoice)
    await db.execute(
        "INSERT INTO invoice_entries (ledger_entry_id, invoice_id, tenant_id) "
        "SELECT e.id, $2, e.tenant_id FROM ledger_entries e WHERE e.tenant_id = $1 AND e.created_at < $3 "
        "AND NOT EXISTS (SELECT 1 FROM invoice_entries i WHERE i.ledger_entry_id = e.id) "
        "ON CONFLICT (ledger_entry_id) DO NOTHING",
        tenant_id,
        invoice["id"],
        end,
    )
    await db.execute("DELETE FROM invoice_lines WHERE invoice_id = $1", invoice["id"])
    groups = await db.fetch(
        "SELECT e.model, e.resource_type, sum(e.quantity) AS quantity, sum(e.tenant_cost) AS exact "
        "FROM invoice_entries i JOIN ledger_entries e ON e.id = i.ledger_entry_id "
        "WHERE i.invoice_id = $1 GROUP BY e.model, e.resource_type",
        invoice["id"],
    )
    total = Decimal(0)
    for g in groups:
        amount = round_cents(g["exact"])
        total += amount
        await db.execute(
            "INSERT INTO invoice_lines (id, invoice_id, tenant_id, model, resource_type, quantity, "
            "exact_amount, amount) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            uuid.uuid4(),
            invoice["id"],
            tenant_id,
            g["model"],
            g["resource_type"],
            g["quantity"],
            g["exact"],
            amount,
        )
    from billing import plans  # plans uses credit, which uses this module

    plan_fee = await plans.fee(tenant_id, start, end)
    if plan_fee is not None:
        total += plan_fee["amount"]
        await db.execute(
            "INSERT INTO invoice_lines (id, invoice_id, tenant_id, model, resource_type, quantity, "
            "exact_amount, amount) VALUES ($1, $2, $3, NULL, $4, 1, $5, $5)",
            uuid.uuid4(),
            invoice["id"],
            tenant_id,
            f"plan:{plan_fee['plan_name']}:{plan_fee['cycle']}"[:32],
            plan_fee["amount"],
        )
    row = await db.fetchrow(
        "UPDATE invoices SET total_amount = $2, updated_at = now() WHERE id = $1 RETURNING *",
        invoice["id"],
        total,
    )
    return dict(row) if row else None


async def finalize(invoice_id: uuid.UUID) -> dict[str, Any]:
    """draft -> open: give the next number of the year, schedule the charge (or mark paid
    when there is nothing to charge). Idempotent: an invoice past draft is returned as is."""
    invoice = await db.fetchrow("SELECT * FROM invoices WHERE id = $1 FOR UPDATE", invoice_id)
    if invoice is None:
        raise LookupError(f"invoice {invoice_id} not found")
    if invoice["status"] != "draft":
        return dict(invoice)
    now = await clock.now()
    seq = await _next_seq(now.year)
    status = "open" if invoice["total_amount"] > 0 else "paid"
    row = await db.fetchrow(
        "UPDATE invoices SET status = $2::varchar, invoice_number = $3, number_year = $4, number_seq = $5, "
        "finalized_at = $6::timestamptz, updated_at = now(), "
        "paid_date = CASE WHEN $2::varchar = 'paid' THEN $6::timestamptz ELSE NULL END "
        "WHERE id = $1 RETURNING *",
        invoice_id,
        status,
        number(now.year, seq),
        now.year,
        seq,
        now,
    )
    assert row is not None
    if status == "open":
        await scheduler.enqueue(
            CHARGE_JOB, {"invoice_id": str(invoice_id)}, now, row["tenant_id"], key=f"charge:{invoice_id}:0"
        )
    return dict(row)


async def _next_seq(year: int) -> int:
    row = await db.fetchrow(
        "INSERT INTO invoice_counters (year, last_seq) VALUES ($1, 1) "
        "ON CONFLICT (year) DO UPDATE SET last_seq = invoice_counters.last_seq + 1 RETURNING last_seq",
        year,
    )
    assert row is not None
    return int(row["last_seq"])


async def close_period(tenant_id: uuid.UUID, start: dt.datetime, end: dt.datetime) -> dict[str, Any] | None:
    """Draft and finalize one tenant's invoice of a period (in its scope)."""
    invoice = await draft(tenant_id, start, end)
    if invoice is None or invoice["status"] != "draft":
        return invoice
    return await finalize(invoice["id"])


async def lines(invoice_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT model, resource_type, quantity, exact_amount, amount FROM invoice_lines "
        "WHERE invoice_id = $1 ORDER BY model NULLS LAST, resource_type",
        invoice_id,
    )
    return [dict(r) for r in rows]
