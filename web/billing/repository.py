"""The SQL of the billing routes; run in the caller's scope and still filter by tenant."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from runtime import db

_INVOICE = (
    "SELECT id, tenant_id, invoice_number, status, total_amount, currency, period_start, period_end, "
    "due_date, finalized_at, paid_date, charge_attempts, last_charge_error, dunning_started_at FROM invoices "
)


async def invoices(tenant_id: uuid.UUID | None, limit: int = 200) -> list[dict[str, Any]]:
    """Newest period first; every tenant's when `tenant_id` is None (system scope)."""
    if tenant_id is None:
        rows = await db.fetch(_INVOICE + "ORDER BY period_start DESC, created_at DESC LIMIT $1", limit)
    else:
        rows = await db.fetch(
            _INVOICE + "WHERE tenant_id = $1 ORDER BY period_start DESC LIMIT $2", tenant_id, limit
        )
    return [dict(r) for r in rows]


async def invoice(tenant_id: uuid.UUID, invoice_id: uuid.UUID) -> dict[str, Any] | None:
    row = await db.fetchrow(_INVOICE + "WHERE tenant_id = $1 AND id = $2", tenant_id, invoice_id)
    return dict(row) if row else None


async def tenant(tenant_id: uuid.UUID) -> dict[str, Any] | None:
    row = await db.fetchrow(
        "SELECT id, name, status, billing_suspended_at FROM tenants WHERE id = $1", tenant_id
    )
    return dict(row) if row else None


async def mailbox(limit: int) -> list[dict[str, Any]]:
    """The development catcher's newest mails (system scope)."""
    rows = await db.fetch(
        "SELECT id, mail_from, rcpt_to, subject, body, received_at FROM dev_mailbox "
        "ORDER BY received_at DESC LIMIT $1",
        limit,
    )
    return [dict(r) for r in rows]


async def dunning() -> list[dict[str, Any]]:
    """Invoices in dunning or written off, with their tenant (system scope)."""
    rows = await db.fetch(
        "SELECT t.id AS tenant_id, t.name AS tenant_name, t.status AS tenant_status, i.id AS invoice_id, "
        "i.invoice_number, i.status, i.total_amount, i.charge_attempts, i.last_charge_error, "
        "i.dunning_started_at, t.billing_suspended_at FROM invoices i JOIN tenants t ON t.id = i.tenant_id "
        "WHERE i.status IN ('open', 'uncollectible') AND i.dunning_started_at IS NOT NULL "
        "ORDER BY i.dunning_started_at"
    )
    return [dict(r) for r in rows]


async def plan_by_name(name: str) -> dict[str, Any] | None:
    row = await db.fetchrow("SELECT * FROM plans WHERE name = $1", name)
    return dict(row) if row else None


async def insert_plan(data: dict[str, Any]) -> dict[str, Any]:
    row = await db.fetchrow(
        "INSERT INTO plans (id, name, tier, monthly_price, annual_price, included_credit, max_concurrency) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
        uuid.uuid4(),
        data["name"],
        data["tier"],
        data["monthly_price"],
        data["annual_price"],
        data["included_credit"] or Decimal(0),
        data["max_concurrency"],
    )
    assert row is not None
    return dict(row)


async def update_plan(plan_id: uuid.UUID, changes: dict[str, Any]) -> dict[str, Any] | None:
    """Change the given fields; absent ones keep their value."""
    row = await db.fetchrow(
        "UPDATE plans SET monthly_price = coalesce($2, monthly_price), "
        "annual_price = coalesce($3, annual_price), "
        "included_credit = coalesce($4, included_credit), max_concurrency = coalesce($5, max_concurrency), "
        "is_active = coalesce($6, is_active), updated_at = now() WHERE id = $1 RETURNING *",
        plan_id,
        changes.get("monthly_price"),
        changes.get("annual_price"),
        changes.get("included_credit"),
        changes.get("max_concurrency"),
        changes.get("is_active"),
    )
    return dict(row) if row else None


async def partner(partner_id: uuid.UUID) -> dict[str, Any] | None:
    row = await db.fetchrow("SELECT id, name FROM partners WHERE id = $1", partner_id)
    return dict(row) if row else None
