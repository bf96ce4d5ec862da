"""Charging open invoices and dunning the ones that fail (docs/billing.md "Charging", "Dunning").

Both run as scheduler jobs in the ledger process:

- `billing.charge_invoice`: charge an open invoice to the tenant's default card through a
  PaymentIntent. The intent is created first (unconfirmed) and its id stored, then
  confirmed; a retry finds the stored intent and asks Stripe what became of it, so an
  invoice is charged once even when the process or Stripe dies halfway. Stripe unreachable
  = the job raises and the scheduler retries it with backoff.
- A prepaid tenant (a subscription and no card, ledger.budget's rule) was admitted against
  its credit only and the ledger debited it entry by entry: its invoice is settled at once.
- A declined charge starts (or continues) dunning: retries on the days of
  `HB_BILLING_RETRY_DAYS` after the first failure, an email to the tenant admins after each
  failure with escalating wording, and `billing.suspend_unpaid` on day
  `HB_BILLING_SUSPEND_DAY`, which suspends the tenant if the invoice is still unpaid.
- A payment (here, or a Stripe webhook) marks the invoice paid and resumes a tenant that
  dunning suspended, at once.
- The app admin may void an unpaid invoice (`void`): nothing more is charged for it, its
  unconfirmed PaymentIntent is cancelled, and a tenant suspended only for it is resumed.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import stripe

from billing import credit, invoices, payments
from billing.stripe_api import UNAVAILABLE, BillingUnavailable, cents, client
from runtime import clock, db, scheduler
from runtime.branding import send_branded
from runtime.mail import Mail
from runtime.settings import get_settings

log = logging.getLogger("hirebuddha.billing")

SUSPEND_JOB = "billing.suspend_unpaid"


async def charge_invoice(job: scheduler.Job) -> None:
    """The `billing.charge_invoice` job."""
    invoice_id = uuid.UUID(job.payload["invoice_id"])
    tenant_id = job.tenant_id
    assert tenant_id is not None
    async with db.scope(tenant_id):
        invoice = await db.fetchrow("SELECT * FROM invoices WHERE id = $1", invoice_id)
        method = await payments.default_method(tenant_id)
        prepaid = await db.fetchrow("SELECT 1 FROM subscriptions WHERE tenant_id = $1", tenant_id)
    if invoice is None or invoice["status"] != "open":
        return
    if method is None and prepaid is not None and not invoice["payment_intent_id"]:
        # ledger.budget's rule: a subscription and no card = prepaid. Its usage was admitted
        # against its credit only, which the ledger debited entry by entry: already paid.
        await mark_paid(invoice_id, tenant_id, None)
        return
    if invoice["payment_intent_id"]:
        intent = await client().v1.payment_intents.retrieve_async(invoice["payment_intent_id"])
        if intent.status == "succeeded":
            await mark_paid(invoice_id, tenant_id, intent.id)
            return
        if intent.status == "processing":
            raise RuntimeError("the payment is still processing")  # look again later
        if intent.status == "requires_confirmation":
            await _confirm(invoice, intent.id)
            return
    if method is None:
        await failed(invoice, "no_payment_method", "No default card on file.")
        return
    customer = await payments.customer_id(tenant_id)
    intent = await client().v1.payment_intents.create_async(
        {
            "amount": cents(invoice["total_amount"]),
            "currency": invoice["currency"].lower(),
            "customer": customer,
            "payment_method": method["stripe_payment_method_id"],
            "metadata": {"invoice_id": str(invoice_id), "invoice_number": invoice["invoice_number"]},
        },
        {"idempotency_key": f"invoice-{invoice_id}-{invoice['charge_attempts']}"},
    )
    async with db.scope(tenant_id):
        await db.execute(
            "UPDATE invoices SET payment_intent_id = $2, updated_at = now() "
            "WHERE id = $1 AND status = 'open'",
            invoice_id,
            intent.id,
        )
    await _confirm(invoice, intent.id)


async def _confirm(invoice: Any, intent_id: str) -> None:
    try:
        intent = await client().v1.payment_intents.confirm_async(intent_id)
    except stripe.CardError as exc:
        await failed(invoice, exc.code or "card_declined", exc.user_message or "The card was declined.")
        return
    if intent.status == "succeeded":
        await mark_paid(invoice["id"], invoice["tenant_id"], intent.id)
    else:
        raise RuntimeError(f"payment intent {intent.id} is {intent.status}")


async def mark_paid(invoice_id: uuid.UUID, tenant_id: uuid.UUID, intent_id: str | None) -> bool:
    """open (or uncollectible) -> paid; resumes a tenant dunning suspended. Idempotent."""
    now = await clock.now()
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "UPDATE invoices SET status = 'paid', paid_date = $2, "
            "payment_intent_id = coalesce($3, payment_intent_id), updated_at = now() "
            "WHERE id = $1 AND status IN ('open', 'uncollectible') RETURNING id",
            invoice_id,
            now,
            intent_id,
        )
        if row is None:
            return False
        await _resume_if_settled(tenant_id, now)
    log.info("invoice %s paid", invoice_id)
    return True


async def _resume_if_settled(tenant_id: uuid.UUID, now: dt.datetime) -> None:
    """Resume a tenant dunning suspended once no invoice past its suspension day is unpaid
    (in the caller's tenant scope)."""
    unpaid = await db.fetchrow(
        "SELECT 1 FROM invoices WHERE tenant_id = $1 AND status IN ('open', 'uncollectible') "
        "AND dunning_started_at IS NOT NULL AND dunning_started_at + make_interval(days => $2) <= $3",
        tenant_id,
        get_settings().billing.suspend_day,
        now,
    )
    if unpaid is None:
        await db.execute(
            "UPDATE tenants SET status = 'active', billing_suspended_at = NULL, updated_at = now() "
            "WHERE id = $1 AND billing_suspended_at IS NOT NULL",
            tenant_id,
        )


VOIDABLE = ("draft", "open", "uncollectible")


class NotVoidable(Exception):
    """The invoice is paid or void already (or its charge just succeeded: it is paid now)."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


async def void(invoice_id: uuid.UUID) -> dict[str, Any] | None:
    """draft | open | uncollectible -> void; None when there is no such invoice.

    A charge already made wins: an intent that succeeded marks the invoice paid and the void
    is refused (`NotVoidable("paid")`); an intent not yet confirmed is cancelled at Stripe
    first, so nothing is charged after the void. Its ledger entries stay on it (an entry is
    on exactly one invoice): voiding forgives them, it does not move them.
    """
    async with db.scope(system=True):
        invoice = await db.fetchrow("SELECT * FROM invoices WHERE id = $1", invoice_id)
    if invoice is None:
        return None
    if invoice["status"] not in VOIDABLE:
        raise NotVoidable(invoice["status"])
    if invoice["payment_intent_id"]:
        try:
            intent = await client().v1.payment_intents.retrieve_async(invoice["payment_intent_id"])
            if intent.status == "succeeded":
                await mark_paid(invoice_id, invoice["tenant_id"], intent.id)
                raise NotVoidable("paid")
            if intent.status != "canceled":
                await client().v1.payment_intents.cancel_async(intent.id)
        except UNAVAILABLE as exc:
            raise BillingUnavailable.now() from exc
    now = await clock.now()
    async with db.scope(invoice["tenant_id"]):
        row = await db.fetchrow(
            "UPDATE invoices SET status = 'void', updated_at = now() "
            "WHERE id = $1 AND status = ANY($2::text[]) RETURNING *",
            invoice_id,
            list(VOIDABLE),
        )
        if row is None:  # paid (a webhook) or voided meanwhile
            current = await db.fetchrow("SELECT status FROM invoices WHERE id = $1", invoice_id)
            raise NotVoidable(current["status"] if current else "void")
        await _resume_if_settled(invoice["tenant_id"], now)
    log.info("invoice %s voided", invoice_id)
    return dict(row)


async def failed(invoice: Any, code: str, reason: str) -> None:
    """Record a failed charge, schedule the next retry and the suspension, mail the admins."""
    settings = get_settings().billing
    now = await clock.now()
    tenant_id = invoice["tenant_id"]
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "UPDATE invoices SET charge_attempts = charge_attempts + 1, last_charge_error = $2, "
            "dunning_started_at = coalesce(dunning_started_at, $3), updated_at = now() "
            "WHERE id = $1 AND status = 'open' RETURNING *",
            invoice["id"],
            f"{code}: {reason}",
            now,
        )
        if row is None:
            return
        failures = row["charge_attempts"]
        started = row["dunning_started_at"]
        if failures <= len(settings.retry_days):
            retry_at = started + dt.timedelta(days=settings.retry_days[failures - 1])
            await scheduler.enqueue(
                invoices.CHARGE_JOB,
                {"invoice_id": str(invoice["id"])},
                retry_at,
                tenant_id,
                key=f"charge:{invoice['id']}:{failures}",
            )
        else:
            retry_at = None
        suspend_at = started + dt.timedelta(days=settings.suspend_day)
        await scheduler.enqueue(
            SUSPEND_JOB,
            {"invoice_id": str(invoice["id"])},
            suspend_at,
            tenant_id,
            key=f"suspend:{invoice['id']}",
        )
        admins = await db.fetch(
            "SELECT email FROM users WHERE tenant_id = $1 AND role = 'tenant_admin' AND is_active", tenant_id
        )
    subject, text = dunning_mail(dict(row), failures, reason, retry_at, suspend_at)
    if admins:
        await send_branded(tenant_id, Mail(to=tuple(a["email"] for a in admins), subject=subject, text=text))


def dunning_mail(
    invoice: dict[str, Any], failures: int, reason: str, retry_at: dt.datetime | None, suspend_at: dt.datetime
) -> tuple[str, str]:
    """Subject and text of the mail after the `failures`-th failed charge: firmer each time."""
    number, amount = invoice["invoice_number"], f"{invoice['total_amount']:.2f} {invoice['currency']}"
    when = suspend_at.strftime("%Y-%m-%d")
    retry = f"We will try again on {retry_at:%Y-%m-%d}." if retry_at else "We will not try again."
    if failures == 1:
        subject = f"Payment failed for invoice {number}"
        lead = f"We could not charge {amount} for invoice {number} ({reason})."
    elif retry_at is not None:
        subject = f"Reminder: invoice {number} is still unpaid"
        lead = f"Our charge of {amount} for invoice {number} failed again ({reason})."
    else:
        subject = f"Final notice: invoice {number} unpaid, workspace suspended on {when}"
        lead = f"All our attempts to charge {amount} for invoice {number} failed ({reason})."
    text = (
        f"{lead}\n{retry}\n\nPlease update your card in Billing. Unless the invoice is paid, "
        f"the workspace will be suspended on {when}: agents will stop answering until it is paid.\n"
    )
    return subject, text


async def suspend_unpaid(job: scheduler.Job) -> None:
    """The `billing.suspend_unpaid` job: suspend the tenant if the invoice is still unpaid.

    Setting `tenants.status` fires the access-revoked notification (web/security/revocation.py),
    which closes the tenant's open sockets; admission refuses its executions from then on.
    """
    tenant_id = job.tenant_id
    assert tenant_id is not None
    now = await clock.now()
    async with db.scope(tenant_id):
        invoice = await db.fetchrow(
            "SELECT status FROM invoices WHERE id = $1", uuid.UUID(job.payload["invoice_id"])
        )
        if invoice is None or invoice["status"] != "open":
            return
        await db.execute(
            "UPDATE invoices SET status = 'uncollectible', updated_at = now() WHERE id = $1",
            uuid.UUID(job.payload["invoice_id"]),
        )
        done = await db.fetchrow(
            "UPDATE tenants SET status = 'suspended', billing_suspended_at = $2, updated_at = now() "
            "WHERE id = $1 AND status = 'active' RETURNING id",
            tenant_id,
            now,
        )
        if done is not None:
            await db.execute("UPDATE refresh_tokens SET revoked = true WHERE tenant_id = $1", tenant_id)
    log.info("tenant %s suspended for an unpaid invoice", tenant_id)


async def close_period(job: scheduler.Job) -> None:
    """The `billing.close_period` job: invoice every tenant for the period, schedule the next."""
    start = dt.datetime.fromisoformat(job.payload["period_start"])
    _, end = invoices.period_of(start)
    async with db.scope(system=True):
        tenants = await invoices.tenants_to_invoice(end)
    for tenant_id in tenants:
        async with db.scope(tenant_id):
            await invoices.close_period(tenant_id, start, end)
    async with db.scope(system=True):
        await schedule_close(end)


CLOSE_JOB = "billing.close_period"
CLOSE_GRACE = dt.timedelta(hours=1)
"""How long after a period ends its invoices are made: usage in flight at midnight lands first."""


async def schedule_close(period_start: dt.datetime) -> None:
    """Schedule the closing of the period starting at `period_start` (once; in a scope)."""
    _, end = invoices.period_of(period_start)
    await scheduler.enqueue(
        CLOSE_JOB,
        {"period_start": period_start.isoformat()},
        end + CLOSE_GRACE,
        key=f"close:{period_start:%Y-%m}",
    )


def register() -> None:
    """The billing jobs, for the process that runs the scheduler (ledger/cli.py)."""
    scheduler.register(invoices.CHARGE_JOB, charge_invoice)
    scheduler.register(SUSPEND_JOB, suspend_unpaid)
    scheduler.register(CLOSE_JOB, close_period)
    scheduler.register(credit.ALERTS_JOB, credit.spend_alerts)


async def start() -> None:
    """Make sure the current period's closing is scheduled (at process start)."""
    now = await clock.now()
    start_of, _ = invoices.period_of(now)
    async with db.scope(system=True):
        await schedule_close(start_of)
    await credit.schedule_alerts(now)
