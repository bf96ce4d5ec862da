"""The whole dunning story on a moved clock, with real processes: a web and an actors process
on the fake LLM, a real ledger process running the scheduler, localstripe declining the card,
a real SMTP server reading the mails (docs/billing.md "Dunning").

fail -> retries on day 1, 3 and 7 (all declined, one mail after each failure, firmer each
time) -> suspension on day 14 (the open chat socket is closed, the workspace refuses
executions: REST 403 and chat error frame `tenant_suspended`; the admin still signs in and
reaches Billing) -> Stripe reports the payment -> restored at once -> chat works again.
"""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
from websockets.exceptions import ConnectionClosed

from helpers.api import login
from helpers.billing import unpaid_invoice
from helpers.platform import chat, platform_with_ledger
from helpers.smtp import body
from helpers.stripe import WEBHOOK, event, signed
from runtime import clock, db
from runtime.settings import get_settings
from web.security.revocation import CLOSE_ACCESS_REVOKED


async def _invoice(invoice_id: uuid.UUID) -> dict:
    async with db.scope(system=True):
        row = await db.fetchrow("SELECT * FROM invoices WHERE id = $1", invoice_id)
    assert row is not None
    return dict(row)


async def _tenant_status(tenant_id: str) -> str:
    async with db.scope(system=True):
        row = await db.fetchrow("SELECT status FROM tenants WHERE id = $1", uuid.UUID(tenant_id))
    assert row is not None
    return str(row["status"])


async def test_unpaid_invoice_is_retried_mailed_suspends_on_day_14_and_payment_restores_at_once(
    database, fake_llm, localstripe, mailbox
) -> None:
    days = get_settings().billing
    assert days.retry_days == (1, 3, 7) and days.suspend_day == 14
    async with (
        platform_with_ledger(fake_llm) as platform,
        httpx.AsyncClient(base_url=platform.base_url) as client,
    ):
        unpaid = await unpaid_invoice(platform, client, localstripe, 2031)
        admin, bot, session, invoice = unpaid.admin, unpaid.bot, unpaid.session, unpaid.invoice

        try:
            subjects = []
            for n, day in enumerate((0, 1, 3, 7), start=1):
                if day:
                    await clock.set_offset(dt.timedelta(days=day, minutes=5).total_seconds())
                mails = await mailbox.wait_for(
                    to=admin.email, subject=invoice["invoice_number"], count=n, timeout=30
                )
                subjects.append(str(mails[-1]["Subject"]))
                assert (await _invoice(invoice["id"]))["charge_attempts"] == n
            assert subjects[0].startswith("Payment failed")
            assert subjects[1].startswith("Reminder") and subjects[2].startswith("Reminder")
            assert subjects[3].startswith("Final notice")
            assert "suspended" in body(mails[-1])
            assert await _tenant_status(admin.tenant_id) == "active"  # not before day 14

            async with chat(platform, session, admin.token) as ws:
                await clock.set_offset(dt.timedelta(days=14, minutes=5).total_seconds())
                try:
                    while True:
                        await ws.recv(timeout=30)
                except ConnectionClosed as closed:
                    assert closed.rcvd is not None and closed.rcvd.code == CLOSE_ACCESS_REVOKED
            assert await _tenant_status(admin.tenant_id) == "suspended"
            assert (await _invoice(invoice["id"]))["status"] == "uncollectible"
            # Suspended, not locked out: the old token still reads, the admin signs in again
            # (suspension ended the refresh tokens), and every execution path refuses with
            # `tenant_suspended` and how to restore it; Billing keeps working so the admin can pay.
            assert (await admin.get("/api/v1/agents")).status_code == 200
            r = await admin.post("/api/v1/sessions", json={"agent_id": bot["id"]})
            assert r.status_code == 403 and r.json()["code"] == "tenant_suspended", r.text
            again = await login(client, admin.email)
            r = await again.post("/api/v1/executions", json={"agent_id": bot["id"], "input": "hello"})
            assert r.status_code == 403 and r.json()["code"] == "tenant_suspended", r.text
            assert "Billing" in r.json()["detail"]
            async with chat(platform, session, again.token) as ws:
                await ws.send({"type": "message", "content": "[[reply:3]] still there?", "client_id": "late"})
                refused = await ws.until("error", "execution.started")
                assert refused["type"] == "error" and refused["code"] == "tenant_suspended", refused
                assert "invoice" in refused["message"]
            overview = (await again.get("/api/v1/tenant/billing/")).json()
            assert overview["tenant_status"] == "suspended" and overview["suspended_for_payment"]
            assert invoice["id"] in {uuid.UUID(i["id"]) for i in overview["invoices"]}
            r = await again.post("/api/v1/tenant/billing/setup-intents")  # add a card: allowed
            assert r.status_code == 201, r.text

            # The customer pays (e.g. on Stripe's page): Stripe tells us, the tenant is back.
            paid = event(
                "payment_intent.succeeded",
                {
                    "id": "pi_paid_later",
                    "object": "payment_intent",
                    "metadata": {"invoice_id": str(invoice["id"])},
                },
            )
            content, headers = signed(paid)
            r = await client.post(WEBHOOK, content=content, headers=headers)
            assert r.status_code == 200, r.text
            assert await _tenant_status(admin.tenant_id) == "active"
            assert (await _invoice(invoice["id"]))["status"] == "paid"
        finally:
            await clock.set_offset(0)

        async with chat(platform, session, again.token) as ws:
            reply = await ws.reply(await ws.message("[[reply:3]] back again"))
            assert reply["type"] == "execution.completed", reply
