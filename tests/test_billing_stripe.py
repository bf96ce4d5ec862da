"""Cards and charges against localstripe over HTTP, through the real web process and the
official Stripe SDK (docs/billing.md): SetupIntent -> card stored with brand/last4 -> default
-> removed; an invoice charged once even when Stripe is down during the charge; webhooks
verified, applied once, replays and reordering harmless, forgeries refused.
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from billing import charging, invoices
from helpers.api import register
from helpers.ledger import make_rate, model_name, usage
from helpers.stripe import WEBHOOK, LocalStripe, add_card, event, signed
from ledger import service
from runtime import clock, db, scheduler


@pytest.fixture(scope="module", autouse=True)
def _billing_jobs() -> None:
    """This process runs the billing jobs like the ledger process does (same handlers)."""
    for kind, fn in (
        (invoices.CHARGE_JOB, charging.charge_invoice),
        (charging.SUSPEND_JOB, charging.suspend_unpaid),
    ):
        scheduler.register(kind, fn)


async def open_invoice(tenant_id: uuid.UUID, tokens: int = 200_000) -> dict:
    """A finalized (open) invoice of this tenant's usage, its charge job scheduled."""
    model = model_name("bill")
    await make_rate(model, cost="0.001", billing="0.0123")
    await service.record_batch([usage(tenant_id, model, tokens)])
    start, end = invoices.period_of(await clock.now())
    start = invoices.period_of(start.replace(year=start.year + 5))[0]  # a period of its own
    async with db.scope(tenant_id):
        invoice = await invoices.close_period(tenant_id, start, invoices.period_of(start)[1])
    assert invoice is not None and invoice["status"] == "open"
    return invoice


async def run_jobs() -> None:
    runner = scheduler.Runner(batch=50)
    while await runner.run_due():
        pass


async def invoice_row(invoice_id: uuid.UUID) -> dict:
    async with db.scope(system=True):
        row = await db.fetchrow("SELECT * FROM invoices WHERE id = $1", invoice_id)
    assert row is not None
    return dict(row)


async def intents_of(localstripe: LocalStripe, invoice_id: uuid.UUID) -> list[dict]:
    async with httpx.AsyncClient(
        base_url=localstripe.base_url, headers={"Authorization": "Bearer sk_test_x"}
    ) as c:
        r = await c.get("/v1/payment_intents", params={"limit": 100})
    return [pi for pi in r.json()["data"] if pi["metadata"].get("invoice_id") == str(invoice_id)]


async def test_cards_are_added_through_a_setup_intent_listed_defaulted_and_removed(
    client, localstripe, database
) -> None:
    admin = await register(client)
    first = await add_card(admin, localstripe)
    assert (first["brand"], first["last4"], first["is_default"]) == ("visa", "4242", True)
    second = await add_card(admin, localstripe, "5555555555554444")
    assert second["last4"] == "4444" and second["is_default"] is False

    r = await admin.post(f"/api/v1/tenant/billing/payment-methods/{second['id']}/default")
    assert r.status_code == 200
    assert [(m["last4"], m["is_default"]) for m in r.json()] == [("4444", True), ("4242", False)]

    other = await register(client)
    assert (await other.delete(f"/api/v1/tenant/billing/payment-methods/{second['id']}")).status_code == 404
    assert (await admin.delete(f"/api/v1/tenant/billing/payment-methods/{second['id']}")).status_code == 204
    methods = (await admin.get("/api/v1/tenant/billing/payment-methods")).json()
    assert [(m["last4"], m["is_default"]) for m in methods] == [("4242", True)]  # the other became default

    overview = (await admin.get("/api/v1/tenant/billing")).json()
    assert overview["tenant_status"] == "active" and len(overview["payment_methods"]) == 1


async def test_a_setup_intent_of_another_tenant_or_unconfirmed_is_refused(
    client, localstripe, database
) -> None:
    admin, other = await register(client), await register(client)
    intent = (await other.post("/api/v1/tenant/billing/setup-intents")).json()
    r = await admin.post("/api/v1/tenant/billing/payment-methods", json={"setup_intent_id": intent["id"]})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = await other.post("/api/v1/tenant/billing/payment-methods", json={"setup_intent_id": intent["id"]})
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    r = await other.post("/api/v1/tenant/billing/payment-methods", json={"setup_intent_id": "nope"})
    assert r.status_code == 400


async def test_an_invoice_is_charged_once_even_when_stripe_is_down_during_the_charge(
    client, localstripe, database
) -> None:
    admin = await register(client)
    await add_card(admin, localstripe)
    tenant = uuid.UUID(admin.tenant_id)
    invoice = await open_invoice(tenant)

    await localstripe.stop()
    try:
        await run_jobs()  # the charge fails to connect: retried later, nothing lost
    finally:
        await localstripe.start()
    row = await invoice_row(invoice["id"])
    assert row["status"] == "open" and row["charge_attempts"] == 0  # not a decline: no dunning
    async with db.scope(system=True):
        job = await db.fetchrow(
            "SELECT status, attempts, last_error FROM scheduled_jobs WHERE dedupe_key = $1",
            f"charge:{invoice['id']}:0",
        )
    assert job is not None and job["status"] == "pending" and job["attempts"] == 1 and job["last_error"]

    await clock.advance(scheduler.backoff(1))
    try:
        await run_jobs()
        await run_jobs()  # nothing left to do: not charged twice
    finally:
        await clock.set_offset(0)
    row = await invoice_row(invoice["id"])
    assert row["status"] == "paid" and row["payment_intent_id"]
    paid = [pi for pi in await intents_of(localstripe, invoice["id"]) if pi["status"] == "succeeded"]
    assert len(paid) == 1 and paid[0]["amount"] == int(invoice["total_amount"] * 100)

    html = await admin.get(f"/api/v1/tenant/billing/invoices/{invoice['id']}/html")
    assert html.status_code == 200 and row["invoice_number"] in html.text and "paid" in html.text
    pdf = await admin.get(f"/api/v1/tenant/billing/invoices/{invoice['id']}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    detail = (await admin.get(f"/api/v1/tenant/billing/invoices/{invoice['id']}")).json()
    assert detail["lines"] and detail["status"] == "paid"
    other = await register(client)
    assert (await other.get(f"/api/v1/tenant/billing/invoices/{invoice['id']}/pdf")).status_code == 404


async def test_webhooks_are_verified_applied_once_and_order_does_not_matter(
    client, localstripe, database
) -> None:
    admin = await register(client)
    tenant = uuid.UUID(admin.tenant_id)
    invoice = await open_invoice(tenant)
    pi = {"id": "pi_recorded", "object": "payment_intent", "metadata": {"invoice_id": str(invoice["id"])}}
    succeeded, failed = event("payment_intent.succeeded", pi), event("payment_intent.payment_failed", pi)

    body, headers = signed(succeeded, secret="whsec_not_ours")
    r = await client.post(WEBHOOK, content=body, headers=headers)
    assert r.status_code == 400 and r.json()["code"] == "webhook_signature_invalid"
    body, headers = signed(succeeded, at=int(time.time()) - 301)  # outside the 300 s tolerance
    assert (await client.post(WEBHOOK, content=body, headers=headers)).status_code == 400
    r = await client.post(WEBHOOK, content=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "webhook_signature_invalid"
    assert (await invoice_row(invoice["id"]))["status"] == "open"

    body, headers = signed(succeeded)
    r = await client.post(WEBHOOK, content=body, headers=headers)
    assert r.status_code == 200 and r.json() == {"received": True, "duplicate": False}
    paid = await invoice_row(invoice["id"])
    assert paid["status"] == "paid"
    r = await client.post(WEBHOOK, content=body, headers=headers)  # replayed
    assert r.status_code == 200 and r.json()["duplicate"] is True
    body, headers = signed(failed)  # an older failure arriving after the success
    assert (await client.post(WEBHOOK, content=body, headers=headers)).status_code == 200
    after = await invoice_row(invoice["id"])
    assert (after["status"], after["paid_date"], after["charge_attempts"]) == ("paid", paid["paid_date"], 0)


async def test_a_new_card_during_dunning_is_charged_at_once(client, localstripe, database) -> None:
    from helpers.stripe import DECLINED_CARD

    admin = await register(client)
    await add_card(admin, localstripe, DECLINED_CARD)
    invoice = await open_invoice(uuid.UUID(admin.tenant_id))
    await run_jobs()
    row = await invoice_row(invoice["id"])
    assert row["status"] == "open" and row["charge_attempts"] == 1 and row["dunning_started_at"]

    good = await add_card(admin, localstripe)  # not the default yet: nothing happens
    await run_jobs()
    assert (await invoice_row(invoice["id"]))["status"] == "open"
    r = await admin.post(f"/api/v1/tenant/billing/payment-methods/{good['id']}/default")
    assert r.status_code == 200
    await run_jobs()  # the retry the new default card scheduled, due now
    assert (await invoice_row(invoice["id"]))["status"] == "paid"
