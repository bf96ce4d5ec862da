"""Stripe customers and payment methods of tenants (docs/billing.md "Payment methods").

A tenant's Stripe customer is created the first time it is needed. A card is added the way
Stripe wants it: the server creates a SetupIntent, the browser confirms it with Stripe.js
(card details never reach us), then the server is told the SetupIntent's id, checks it with
Stripe and stores the card's brand, last4 and expiry. The default card is what invoices are
charged to. Stripe calls run outside any database transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

import stripe

from billing.invoices import CHARGE_JOB
from billing.stripe_api import UNAVAILABLE, BillingUnavailable, client
from runtime import clock, db, scheduler
from runtime.errors import CodedError


class PaymentDeclined(CodedError):
    def __init__(self, message: str) -> None:
        super().__init__("payment_declined", message, 402)


async def customer_id(tenant_id: uuid.UUID) -> str:
    """The tenant's Stripe customer, created on first need."""
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "SELECT stripe_customer_id FROM billing_customers WHERE tenant_id = $1", tenant_id
        )
        name = await db.fetchrow("SELECT name FROM tenants WHERE id = $1", tenant_id)
    if row is not None:
        return str(row["stripe_customer_id"])
    try:
        customer = await client().v1.customers.create_async(
            {
                "description": name["name"] if name else str(tenant_id),
                "metadata": {"tenant_id": str(tenant_id)},
            },
            {"idempotency_key": f"customer-{tenant_id}"},
        )
    except UNAVAILABLE as exc:
        raise BillingUnavailable.now() from exc
    async with db.scope(tenant_id):
        await db.execute(
            "INSERT INTO billing_customers (tenant_id, stripe_customer_id) VALUES ($1, $2) "
            "ON CONFLICT (tenant_id) DO NOTHING",
            tenant_id,
            customer.id,
        )
        row = await db.fetchrow(
            "SELECT stripe_customer_id FROM billing_customers WHERE tenant_id = $1", tenant_id
        )
    assert row is not None
    return str(row["stripe_customer_id"])


async def setup_intent(tenant_id: uuid.UUID) -> dict[str, str]:
    """A SetupIntent for the browser to confirm with Stripe.js: its id and client secret."""
    customer = await customer_id(tenant_id)
    try:
        intent = await client().v1.setup_intents.create_async({"customer": customer, "usage": "off_session"})
    except UNAVAILABLE as exc:
        raise BillingUnavailable.now() from exc
    return {"id": intent.id, "client_secret": intent.client_secret or ""}


async def add_from_setup_intent(tenant_id: uuid.UUID, setup_intent_id: str) -> dict[str, Any]:
    """Store the card a confirmed SetupIntent of this tenant's customer set up."""
    customer = await customer_id(tenant_id)
    try:
        intent = await client().v1.setup_intents.retrieve_async(setup_intent_id)
    except stripe.InvalidRequestError as exc:
        raise CodedError("not_found", "No such setup intent.", 404) from exc
    except UNAVAILABLE as exc:
        raise BillingUnavailable.now() from exc
    if intent.customer != customer:
        raise CodedError("not_found", "No such setup intent.", 404)
    if intent.status != "succeeded" or not intent.payment_method:
        raise CodedError("conflict", f"The setup intent is {intent.status}, not succeeded.", 409)
    pm_id = intent.payment_method if isinstance(intent.payment_method, str) else intent.payment_method.id
    try:
        method = await client().v1.payment_methods.retrieve_async(pm_id)
        if method.customer != customer:  # Stripe attaches on success; localstripe leaves it to us
            method = await client().v1.payment_methods.attach_async(pm_id, {"customer": customer})
    except stripe.CardError as exc:
        raise PaymentDeclined(exc.user_message or "The card was declined.") from exc
    except UNAVAILABLE as exc:
        raise BillingUnavailable.now() from exc
    card = method.card
    async with db.scope(tenant_id):
        has_default = await db.fetchrow(
            "SELECT 1 FROM payment_methods WHERE tenant_id = $1 AND is_default", tenant_id
        )
        await db.execute(
            "INSERT INTO payment_methods (id, tenant_id, stripe_payment_method_id, stripe_customer_id, "
            "type, last4, brand, exp_month, exp_year, is_default, created_at, updated_at) "
            "VALUES ($1, $2, $3, $4, 'card', $5, $6, $7, $8, $9, now(), now()) "
            "ON CONFLICT (stripe_payment_method_id) DO NOTHING",
            uuid.uuid4(),
            tenant_id,
            method.id,
            customer,
            card.last4 if card else None,
            card.brand if card else None,
            card.exp_month if card else None,
            card.exp_year if card else None,
            has_default is None,
        )
        row = await db.fetchrow(
            "SELECT * FROM payment_methods WHERE tenant_id = $1 AND stripe_payment_method_id = $2",
            tenant_id,
            method.id,
        )
        if row is not None and row["is_default"]:
            await retry_unpaid(tenant_id, method.id)
    if row is None:
        raise CodedError("conflict", "That card belongs to another workspace.", 409)
    return dict(row)


async def retry_unpaid(tenant_id: uuid.UUID, reason: str) -> None:
    """A new default card: charge the tenant's unpaid invoices now instead of on the next
    dunning day (inside its scope; once per invoice and card)."""
    now = await clock.now()
    for invoice in await db.fetch(
        "SELECT id FROM invoices WHERE tenant_id = $1 AND status IN ('open', 'uncollectible') "
        "AND dunning_started_at IS NOT NULL",
        tenant_id,
    ):
        await scheduler.enqueue(
            CHARGE_JOB,
            {"invoice_id": str(invoice["id"])},
            now,
            tenant_id,
            key=f"charge:{invoice['id']}:{reason}",
        )


async def methods(tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """The tenant's cards, the default first (call inside its scope)."""
    rows = await db.fetch(
        "SELECT * FROM payment_methods WHERE tenant_id = $1 ORDER BY is_default DESC, created_at DESC",
        tenant_id,
    )
    return [dict(r) for r in rows]


async def default_method(tenant_id: uuid.UUID) -> dict[str, Any] | None:
    """The card invoices are charged to (call inside the tenant's scope)."""
    row = await db.fetchrow("SELECT * FROM payment_methods WHERE tenant_id = $1 AND is_default", tenant_id)
    return dict(row) if row else None


async def set_default(tenant_id: uuid.UUID, method_id: uuid.UUID) -> bool:
    """Make one card the default (call inside the tenant's scope); False if it is not theirs."""
    found = await db.fetchrow(
        "SELECT 1 FROM payment_methods WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenant_id, method_id
    )
    if found is None:
        return False
    await db.execute(
        "UPDATE payment_methods SET is_default = (id = $2), updated_at = now() WHERE tenant_id = $1",
        tenant_id,
        method_id,
    )
    await retry_unpaid(tenant_id, f"default:{method_id}")
    return True


async def remove(tenant_id: uuid.UUID, method_id: uuid.UUID) -> bool:
    """Detach a card in Stripe and forget it; the newest other card becomes the default."""
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "SELECT * FROM payment_methods WHERE tenant_id = $1 AND id = $2", tenant_id, method_id
        )
    if row is None:
        return False
    try:
        await client().v1.payment_methods.detach_async(row["stripe_payment_method_id"])
    except stripe.InvalidRequestError:
        pass  # already detached in Stripe (a webhook told us, or a retry): forget it here too
    except UNAVAILABLE as exc:
        raise BillingUnavailable.now() from exc
    async with db.scope(tenant_id):
        await forget(tenant_id, row["stripe_payment_method_id"])
    return True


async def forget(tenant_id: uuid.UUID, stripe_payment_method_id: str) -> None:
    """Drop a card row and keep a default if any card is left (inside the tenant's scope)."""
    await db.execute(
        "DELETE FROM payment_methods WHERE tenant_id = $1 AND stripe_payment_method_id = $2",
        tenant_id,
        stripe_payment_method_id,
    )
    await db.execute(
        "UPDATE payment_methods SET is_default = true, updated_at = now() WHERE id = "
        "(SELECT id FROM payment_methods WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT 1) "
        "AND NOT EXISTS (SELECT 1 FROM payment_methods WHERE tenant_id = $1 AND is_default)",
        tenant_id,
    )
