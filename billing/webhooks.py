"""Stripe webhooks (docs/billing.md "Webhooks").

- The `Stripe-Signature` header is verified with `HB_STRIPE_WEBHOOK_SECRET` and a 300 s
  tolerance (the SDK's `Webhook.construct_event`); anything else is refused (400,
  `webhook_signature_invalid`).
- Each event id is processed once: its id is written to `stripe_events` after its effect,
  and an id already there is answered 200 without effect. Every effect is idempotent, so a
  crash between the two only repeats a no-op.
- Out of order: effects depend on state, not on arrival. `payment_intent.succeeded` (or
  `invoice.paid`) marks the invoice paid from open or uncollectible, whatever came before; a
  failure that arrives after the success finds the invoice paid and does nothing. Failures
  are recorded by the charge itself (synchronously, billing/charging.py), so failure events
  are stored and acknowledged only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

import stripe

from billing import charging, credit, payments
from runtime import db
from runtime.errors import CodedError
from runtime.settings import get_settings

log = logging.getLogger("hirebuddha.billing")

TOLERANCE_S = 300


class SignatureInvalid(CodedError):
    def __init__(self, message: str) -> None:
        super().__init__("webhook_signature_invalid", message, 400)


def verify(payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event (plain JSON), if Stripe signed `payload` less than 300 s ago; else SignatureInvalid."""
    secret = get_settings().stripe_webhook_secret
    if not secret:
        raise SignatureInvalid("Webhooks are not configured (HB_STRIPE_WEBHOOK_SECRET).")
    if not signature:
        raise SignatureInvalid("The Stripe-Signature header is missing.")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8", "replace"), signature, secret, TOLERANCE_S
        )
    except stripe.SignatureVerificationError as exc:
        raise SignatureInvalid("The Stripe-Signature does not match this payload.") from exc
    try:
        event = json.loads(payload)
        if not (
            isinstance(event, dict)
            and isinstance(event.get("id"), str)
            and isinstance(event.get("type"), str)
        ):
            raise ValueError("not an event")
        if not isinstance(event.get("data", {}).get("object"), dict):
            raise ValueError("no data.object")
    except (ValueError, AttributeError) as exc:
        raise CodedError("malformed", "The webhook body is not a Stripe event.", 400) from exc
    return event


async def handle(event: dict[str, Any]) -> bool:
    """Apply one verified event; False when its id was processed before."""
    event_id, kind = str(event["id"]), str(event["type"])
    async with db.scope(system=True):
        seen = await db.fetchrow("SELECT 1 FROM stripe_events WHERE id = $1", event_id)
    if seen is not None:
        return False
    obj = event["data"]["object"]
    if kind in ("payment_intent.succeeded", "invoice.paid"):
        await _paid(obj)
    elif kind == "payment_method.detached":
        await _detached(obj)
    else:
        log.info("stripe event %s (%s) stored without effect", event_id, kind)
    created = event.get("created")
    async with db.scope(system=True):
        await db.execute(
            "INSERT INTO stripe_events (id, type, object_created) VALUES ($1, $2, $3) "
            "ON CONFLICT (id) DO NOTHING",
            event_id,
            kind,
            dt.datetime.fromtimestamp(created, dt.UTC) if isinstance(created, int) else None,
        )
    return True


async def _paid(obj: Any) -> None:
    metadata = obj.get("metadata") or {}
    if metadata.get("kind") == "credit" and obj.get("object") == "payment_intent":
        await credit.landed_by_webhook(metadata, str(obj.get("id")))
        return
    raw = metadata.get("invoice_id")
    if not raw:
        return  # a payment that is not an invoice's (prepaid credit has its own path)
    try:
        invoice_id = uuid.UUID(str(raw))
    except ValueError:
        return
    async with db.scope(system=True):
        row = await db.fetchrow("SELECT tenant_id FROM invoices WHERE id = $1", invoice_id)
    if row is not None:
        intent = obj.get("id") if obj.get("object") == "payment_intent" else obj.get("payment_intent")
        await charging.mark_paid(invoice_id, row["tenant_id"], intent)


async def _detached(obj: Any) -> None:
    async with db.scope(system=True):
        row = await db.fetchrow(
            "SELECT tenant_id FROM payment_methods WHERE stripe_payment_method_id = $1", obj.get("id")
        )
    if row is not None:
        async with db.scope(row["tenant_id"]):
            await payments.forget(row["tenant_id"], obj["id"])
