"""Prepaid credit (docs/billing.md "Prepaid credit") and spend alerts.

Credit lands through `land()`, once per reference (a PaymentIntent id, or a plan and period):
an append-only `credit_purchases` row records it and the running balance
(`subscriptions.credit_balance`, which the ledger debits) goes up in the same transaction.
The ledger's entries are never touched. A purchase charges the tenant's default card through
a PaymentIntent; the credit lands when the charge succeeds, or when Stripe's
`payment_intent.succeeded` webhook says so, whichever comes first, never twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import stripe

from billing import invoices, payments
from billing.payments import PaymentDeclined
from billing.stripe_api import UNAVAILABLE, BillingUnavailable, cents, client
from runtime import clock, db, scheduler
from runtime.branding import send_branded
from runtime.errors import CodedError
from runtime.mail import Mail

THRESHOLDS = (80, 100)
ALERTS_JOB = "billing.spend_alerts"
ALERTS_EVERY = dt.timedelta(minutes=10)


async def land(tenant_id: uuid.UUID, amount: Decimal, source: str, reference: str) -> bool:
    """Add credit once per `reference` (inside the tenant's scope); False if it landed before."""
    await db.execute("SELECT pg_advisory_xact_lock(hashtext($1))", reference)
    if await db.fetchrow("SELECT 1 FROM credit_purchases WHERE reference = $1", reference):
        return False
    row = await db.fetchrow(
        "UPDATE subscriptions SET credit_balance = credit_balance + $2, updated_at = now() WHERE id = "
        "(SELECT id FROM subscriptions WHERE tenant_id = $1 "
        "ORDER BY (status = 'active') DESC, created_at DESC "
        "LIMIT 1) RETURNING credit_balance",
        tenant_id,
        amount,
    )
    if row is None:
        row = await db.fetchrow(
            "INSERT INTO subscriptions (id, tenant_id, plan_name, status, billing_cycle, credit_balance, "
            "created_at, updated_at) VALUES ($1, $2, 'prepaid', 'active', 'monthly', $3, now(), now()) "
            "RETURNING credit_balance",
            uuid.uuid4(),
            tenant_id,
            amount,
        )
    assert row is not None
    await db.execute(
        "INSERT INTO credit_purchases (id, tenant_id, amount, source, reference, balance_after) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        uuid.uuid4(),
        tenant_id,
        amount,
        source,
        reference,
        row["credit_balance"],
    )
    return True


async def buy(tenant_id: uuid.UUID, amount: Decimal, request_key: str) -> dict[str, Any]:
    """Charge `amount` to the default card and land it as credit. `request_key` (the client's)
    makes a repeated request reuse the same PaymentIntent at Stripe."""
    amount = invoices.round_cents(amount)
    async with db.scope(tenant_id):
        method = await payments.default_method(tenant_id)
    if method is None:
        raise CodedError("no_payment_method", "Add a card before buying credit.", 409)
    customer = await payments.customer_id(tenant_id)
    try:
        intent = await client().v1.payment_intents.create_async(
            {
                "amount": cents(amount),
                "currency": "usd",
                "customer": customer,
                "payment_method": method["stripe_payment_method_id"],
                "metadata": {"kind": "credit", "tenant_id": str(tenant_id), "amount": str(amount)},
            },
            {"idempotency_key": f"credit-{tenant_id}-{request_key}"},
        )
        if intent.status == "requires_confirmation":
            intent = await client().v1.payment_intents.confirm_async(intent.id)
    except stripe.CardError as exc:
        raise PaymentDeclined(exc.user_message or "The card was declined.") from exc
    except UNAVAILABLE as exc:
        raise BillingUnavailable.now() from exc
    if intent.status != "succeeded":
        raise PaymentDeclined(f"The payment is {intent.status}.")
    async with db.scope(tenant_id):
        await land(tenant_id, amount, "purchase", intent.id)
        balance = await balance_of(tenant_id)
    return {"payment_intent_id": intent.id, "amount": amount, "credit_balance": balance}


async def balance_of(tenant_id: uuid.UUID) -> Decimal:
    row = await db.fetchrow(
        "SELECT credit_balance FROM subscriptions WHERE tenant_id = $1 "
        "ORDER BY (status = 'active') DESC, created_at DESC LIMIT 1",
        tenant_id,
    )
    return row["credit_balance"] if row else Decimal(0)


async def purchases(tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT id, amount, source, reference, balance_after, created_at FROM credit_purchases "
        "WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT 100",
        tenant_id,
    )
    return [dict(r) for r in rows]


async def landed_by_webhook(metadata: dict[str, Any], intent_id: str) -> None:
    """`payment_intent.succeeded` of a credit purchase: land it (once) if the charge did not."""
    try:
        tenant_id, amount = uuid.UUID(str(metadata["tenant_id"])), Decimal(str(metadata["amount"]))
    except (KeyError, ValueError, ArithmeticError):
        return
    async with db.scope(tenant_id):
        if await db.fetchrow("SELECT 1 FROM tenants WHERE id = $1", tenant_id):
            await land(tenant_id, amount, "purchase", intent_id)


# --- spend alerts ----------------------------------------------------------------------------


async def _alert(tenant_id: uuid.UUID, key: str, kind: str, percent: int, subject: str, text: str) -> bool:
    async with db.scope(tenant_id):
        fresh = await db.fetchrow(
            "INSERT INTO spend_alerts (key, tenant_id, kind, percent) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (key) DO NOTHING RETURNING key",
            key,
            tenant_id,
            kind,
            percent,
        )
        admins = await db.fetch(
            "SELECT email FROM users WHERE tenant_id = $1 AND role = 'tenant_admin' AND is_active", tenant_id
        )
    if fresh is None or not admins:
        return False
    await send_branded(tenant_id, Mail(to=tuple(a["email"] for a in admins), subject=subject, text=text))
    return True


def crossed(used: Decimal, limit: Decimal) -> list[int]:
    """The thresholds (80, 100 percent) `used` has reached of `limit`."""
    if limit <= 0:
        return []
    return [p for p in THRESHOLDS if used * 100 >= limit * p]


async def check_alerts() -> int:
    """Mail tenant admins once per threshold: a monthly cap (per month) or a credit top-up
    (per top-up) 80% or 100% used. Returns how many mails went out."""
    now = await clock.now()
    start, _ = invoices.period_of(now)
    async with db.scope(system=True):
        caps = await db.fetch(
            "SELECT t.id, t.monthly_cap, COALESCE((SELECT sum(tenant_cost) FROM ledger_entries e "
            "  WHERE e.tenant_id = t.id AND e.created_at >= $1), 0) AS spent "
            "FROM tenants t WHERE t.monthly_cap IS NOT NULL AND t.status = 'active'",
            start,
        )
        credits = await db.fetch(
            "SELECT DISTINCT ON (c.tenant_id) c.tenant_id, c.id, c.balance_after, s.credit_balance "
            "FROM credit_purchases c "
            "JOIN subscriptions s ON s.tenant_id = c.tenant_id AND s.status = 'active' "
            "ORDER BY c.tenant_id, c.created_at DESC"
        )
    sent = 0
    for r in caps:
        for pct in crossed(r["spent"], r["monthly_cap"]):
            sent += await _alert(
                r["id"],
                f"cap:{r['id']}:{start:%Y-%m}:{pct}",
                "cap",
                pct,
                f"Spend alert: {pct}% of this month's cap",
                f"Your workspace has spent {r['spent']:.2f} USD of its {r['monthly_cap']:.2f} USD monthly cap"
                f" ({pct}%)."
                + (" New work is refused until the cap is raised or the month ends." if pct == 100 else ""),
            )
    for r in credits:
        used = r["balance_after"] - r["credit_balance"]
        for pct in crossed(used, r["balance_after"]):
            sent += await _alert(
                r["tenant_id"],
                f"credit:{r['id']}:{pct}",
                "credit",
                pct,
                f"Credit alert: {pct}% of your credit used",
                f"{max(r['credit_balance'], Decimal(0)):.2f} USD of prepaid credit is left ({pct}% used). "
                "Buy credit in Billing to keep your agents answering.",
            )
    return sent


async def spend_alerts(job: scheduler.Job) -> None:
    """The `billing.spend_alerts` job: check, then schedule the next check."""
    await check_alerts()
    await schedule_alerts(await clock.now() + ALERTS_EVERY)


async def schedule_alerts(at: dt.datetime) -> None:
    slot = int(at.timestamp() // ALERTS_EVERY.total_seconds())
    async with db.scope(system=True):
        await scheduler.enqueue(ALERTS_JOB, {}, at, key=f"alerts:{slot}")
