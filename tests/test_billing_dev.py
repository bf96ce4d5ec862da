"""`make up`'s development stand-ins for billing: localstripe and the mail catcher whose mails
the app admin reads in the console (docs/billing.md "Running it locally")."""

from __future__ import annotations

import uuid
from email.message import EmailMessage

import aiosmtplib

from conftest import Process, free_port
from helpers.api import app_admin, register
from helpers.eventually import eventually
from helpers.platform import wait_output
from runtime.launcher import dev_services


def test_up_runs_localstripe_and_the_catcher_only_where_nothing_real_is_configured() -> None:
    services, env = dev_services({}, "http://127.0.0.1:8000")
    assert set(services) == {"fake-stripe", "mailcatcher"}
    assert (
        env["HB_STRIPE_API_BASE"] == "http://127.0.0.1:8420" and env["HB_SMTP_URL"] == "smtp://127.0.0.1:1025"
    )
    assert "http://127.0.0.1:8000/api/v1/billing/stripe/webhook" in services["fake-stripe"]
    assert dev_services({"HB_STRIPE_SECRET_KEY": "sk_live_x", "HB_SMTP_URL": "smtp://mx:25"}, "http://x") == (
        {},
        {},
    )
    assert dev_services({"HB_ENV": "production"}, "http://x") == ({}, {})


async def test_the_catcher_keeps_mail_for_the_admin_console(client, database) -> None:
    port = free_port()
    catcher = Process("mailcatcher", "--port", str(port))
    try:
        await wait_output(catcher, "mail catcher listening")
        subject = f"Invoice ready {uuid.uuid4().hex[:8]}"
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = (
            "billing@hirebuddha.local",
            "ada@example.org",
            subject,
        )
        message.set_content("Your invoice HB-2026-000001 is ready.")
        await aiosmtplib.send(message, hostname="127.0.0.1", port=port)
        root = await app_admin(client)

        async def caught() -> list[dict]:
            r = await root.get("/api/v1/admin/billing/mailbox")
            assert r.status_code == 200, r.text
            return [m for m in r.json() if m["subject"] == subject]

        mails = await eventually(caught, bool, "the mail in the admin's mailbox")
        assert mails[0]["rcpt_to"] == "ada@example.org" and "HB-2026-000001" in mails[0]["body"]
        tenant_admin = await register(client)
        assert (await tenant_admin.get("/api/v1/admin/billing/mailbox")).status_code == 403
    finally:
        catcher.stop()


async def test_fake_stripe_serves_the_api_and_stripe_js_on_loopback() -> None:
    import httpx

    port = free_port()
    proc = Process("fake-stripe", "--port", str(port))
    try:
        await wait_output(proc, "fake stripe listening")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            js = await c.get("/js.stripe.com/v3/")
            assert js.status_code == 200 and "Stripe" in js.text
            r = await c.post(
                "/v1/customers", headers={"Authorization": "Bearer sk_test_x"}, data={"email": "a@b.c"}
            )
            assert r.status_code == 200 and r.json()["id"].startswith("cus_")
    finally:
        proc.stop()
