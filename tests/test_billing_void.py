"""Voiding an invoice (docs/billing.md "Voiding"): the app admin forgives an unpaid invoice of a
tenant that dunning suspended, on a moved clock with a real ledger process, localstripe
declining the card and a real SMTP server. The void cancels the charge at Stripe, resumes
the tenant, is audited with its reason, and is refused for an invoice that is not unpaid."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx

from billing.stripe_api import client as stripe_client
from helpers.api import app_admin
from helpers.billing import unpaid_invoice
from helpers.eventually import eventually
from helpers.platform import chat, platform_with_ledger
from runtime import clock, db


async def _row(sql: str, *args: object) -> dict:
    async with db.scope(system=True):
        row = await db.fetchrow(sql, *args)
    assert row is not None
    return dict(row)


async def test_the_app_admin_voids_an_unpaid_invoice_and_the_tenant_is_resumed(
    database, fake_llm, localstripe, mailbox
) -> None:
    async with (
        platform_with_ledger(fake_llm) as platform,
        httpx.AsyncClient(base_url=platform.base_url) as client,
    ):
        unpaid = await unpaid_invoice(platform, client, localstripe, 2032)
        admin, session, tenant, invoice = unpaid.admin, unpaid.session, unpaid.tenant, unpaid.invoice
        root = await app_admin(client)
        invoice_id = str(invoice["id"])
        url = f"/api/v1/admin/billing/invoices/{invoice_id}/void"
        try:
            await mailbox.wait_for(to=admin.email, subject=invoice["invoice_number"], count=1, timeout=30)
            await clock.set_offset(dt.timedelta(days=14, minutes=5).total_seconds())

            async def tenant_status() -> str:
                return str((await _row("SELECT status FROM tenants WHERE id = $1", tenant))["status"])

            await eventually(tenant_status, lambda s: s == "suspended", "dunning's suspension", 30)
            stored = await _row("SELECT status, payment_intent_id FROM invoices WHERE id = $1", invoice["id"])
            assert stored["status"] == "uncollectible" and stored["payment_intent_id"], stored

            # Only the app admin voids, with a reason; bad input is a coded 400, not a change.
            assert (await admin.post(url, json={"reason": "goodwill"})).status_code == 403
            r = await root.post(url, json={"reason": ""})
            assert r.status_code == 400 and r.json()["code"] == "validation_error", r.text
            r = await root.post(
                f"/api/v1/admin/billing/invoices/{uuid.uuid4()}/void", json={"reason": "typo"}
            )
            assert r.status_code == 404 and r.json()["code"] == "not_found", r.text

            r = await root.post(url, json={"reason": "goodwill after an outage"})
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "void" and r.json()["id"] == invoice_id
            assert await tenant_status() == "active"
            intent = await stripe_client().v1.payment_intents.retrieve_async(stored["payment_intent_id"])
            assert intent.status == "canceled"
            audit = await _row(
                "SELECT actor_user_id, details FROM audit_log "
                "WHERE action = 'billing.invoice.void' AND target_id = $1",
                invoice["id"],
            )
            assert str(audit["actor_user_id"]) == root.user_id and "goodwill after an outage" in str(
                audit["details"]
            )

            r = await root.post(url, json={"reason": "again"})
            assert r.status_code == 409 and r.json()["code"] == "conflict" and "void" in r.json()["detail"]
            listed = (await admin.get("/api/v1/tenant/billing/invoices")).json()
            assert [i["status"] for i in listed if i["id"] == invoice_id] == ["void"]
        finally:
            await clock.set_offset(0)
        async with chat(platform, session, admin.token) as ws:
            reply = await ws.reply(await ws.message("[[reply:3]] back again"))
            assert reply["type"] == "execution.completed", reply
