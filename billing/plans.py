"""Plans and subscriptions (docs/billing.md "Plans").

A plan (app admin's catalog) sets the tenant's tier (and so its queue lane) and concurrency,
carries a fee on the invoices (`fee`), and includes credit that lands once per billing
period (a credit with reference `plan:<tenant>:<plan>:<period>`). Subscribing, upgrading and
downgrading take effect at once; cancelling returns the tenant to the free tier. Runs in the
caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from billing import credit, invoices
from runtime import clock, db
from runtime.errors import CodedError

FREE = {"tier": "free", "max_concurrency": 4}


async def catalog(active_only: bool) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT * FROM plans WHERE is_active OR NOT $1 ORDER BY monthly_price, name", active_only
    )
    return [dict(r) for r in rows]


async def current(tenant_id: uuid.UUID) -> dict[str, Any] | None:
    """The tenant's subscription, with its plan's terms when it is on a catalog plan."""
    row = await db.fetchrow(
        "SELECT s.id, s.plan_name, s.status, s.billing_cycle, s.credit_balance, s.updated_at, "
        "p.tier, p.monthly_price, p.annual_price, p.included_credit FROM subscriptions s "
        "LEFT JOIN plans p ON p.name = s.plan_name WHERE s.tenant_id = $1 "
        "ORDER BY (s.status = 'active') DESC, s.created_at DESC LIMIT 1",
        tenant_id,
    )
    return dict(row) if row else None


async def subscribe(tenant_id: uuid.UUID, plan_name: str, cycle: str) -> dict[str, Any]:
    """Subscribe to, upgrade or downgrade to a plan (inside the tenant's scope)."""
    plan = await db.fetchrow("SELECT * FROM plans WHERE name = $1 AND is_active", plan_name)
    if plan is None:
        raise CodedError("not_found", f"No active plan {plan_name!r}.", 404)
    sub = await current(tenant_id)
    now = await clock.now()
    if sub is None:
        await db.execute(
            "INSERT INTO subscriptions (id, tenant_id, plan_name, status, billing_cycle, credit_balance, "
            "plan_started_at, created_at, updated_at) VALUES ($1, $2, $3, 'active', $4, 0, $5, now(), now())",
            uuid.uuid4(),
            tenant_id,
            plan_name,
            cycle,
            now,
        )
    else:
        changed = (sub["plan_name"], sub["billing_cycle"], sub["status"]) != (plan_name, cycle, "active")
        await db.execute(
            "UPDATE subscriptions SET plan_name = $2, status = 'active', billing_cycle = $3, "
            "plan_started_at = CASE WHEN $4 THEN $5 ELSE coalesce(plan_started_at, $5) END, "
            "updated_at = now() "
            "WHERE id = $1",
            sub["id"],
            plan_name,
            cycle,
            changed,
            now,
        )
    await db.execute(
        "UPDATE tenants SET tier = $2, max_concurrency = $3, updated_at = now() WHERE id = $1",
        tenant_id,
        plan["tier"],
        plan["max_concurrency"],
    )
    await grant_included(tenant_id)
    result = await current(tenant_id)
    assert result is not None
    return result


async def cancel(tenant_id: uuid.UUID) -> dict[str, Any] | None:
    """Cancel: back to the free tier; the credit left stays usable."""
    sub = await current(tenant_id)
    if sub is None or sub["status"] != "active" or sub["tier"] is None:
        raise CodedError("conflict", "No plan to cancel.", 409)
    await db.execute(
        "UPDATE subscriptions SET status = 'cancelled', updated_at = now() WHERE id = $1", sub["id"]
    )
    await db.execute(
        "UPDATE tenants SET tier = $2, max_concurrency = $3, updated_at = now() WHERE id = $1",
        tenant_id,
        FREE["tier"],
        FREE["max_concurrency"],
    )
    return await current(tenant_id)


async def fee(tenant_id: uuid.UUID, start: dt.datetime, end: dt.datetime) -> dict[str, Any] | None:
    """The plan fee a period's invoice carries (inside the tenant's scope), or None.

    Monthly: the monthly price for every period the plan is active at its end and started
    before it. Annual: the annual price in the period of the plan's start and in the same
    month of each later year. No proration: a change of plan counts from the period it is in.
    """
    sub = await current(tenant_id)
    if sub is None or sub["status"] != "active" or sub["tier"] is None:
        return None
    started = await db.fetchrow("SELECT plan_started_at FROM subscriptions WHERE id = $1", sub["id"])
    began = started["plan_started_at"] if started else None
    if began is None or began >= end:
        return None
    if sub["billing_cycle"] == "annual":
        if began.astimezone(dt.UTC).month != start.month:
            return None
        price = sub["annual_price"]
    else:
        price = sub["monthly_price"]
    if not price:
        return None
    return {"plan_name": sub["plan_name"], "cycle": sub["billing_cycle"], "amount": price}


async def grant_included(tenant_id: uuid.UUID) -> bool:
    """Land the plan's included credit for the current period (once per plan and period)."""
    sub = await current(tenant_id)
    if sub is None or sub["status"] != "active" or not sub["included_credit"]:
        return False
    start, _ = invoices.period_of(await clock.now())
    period = f"{start:%Y}" if sub["billing_cycle"] == "annual" else f"{start:%Y-%m}"
    amount = sub["included_credit"] * (12 if sub["billing_cycle"] == "annual" else 1)
    return await credit.land(tenant_id, amount, "plan", f"plan:{tenant_id}:{sub['plan_name']}:{period}")
