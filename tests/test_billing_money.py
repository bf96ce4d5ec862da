"""Prepaid credit, spend alerts, plans and subscriptions, partner statements and revenue
(docs/billing.md), through the real web process, localstripe and the SMTP server.
"""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal

import asyncpg
import pytest

from billing import credit, invoices
from helpers.api import app_admin, login, partner, register, resold_tenant
from helpers.ledger import priced_model, usage
from helpers.smtp import body
from helpers.stripe import DECLINED_CARD, WEBHOOK, add_card, event, signed
from ledger import service
from runtime import clock, db

D = Decimal


async def test_credit_is_bought_with_the_card_and_lands_once_per_intent(
    client, localstripe, database
) -> None:
    admin = await register(client)
    r = await admin.post("/api/v1/tenant/billing/credit", json={"amount": "25", "request_key": "no-card-yet"})
    assert r.status_code == 409 and r.json()["code"] == "no_payment_method"
    await add_card(admin, localstripe)

    r = await admin.post(
        "/api/v1/tenant/billing/credit", json={"amount": "25.005", "request_key": "first-buy"}
    )
    assert r.status_code == 201, r.text
    bought = r.json()
    assert D(bought["amount"]) == D("25.00") and D(bought["credit_balance"]) == D("25.00")

    # Stripe's own notice of the same payment, and its replay: the credit does not land again.
    succeeded = event(
        "payment_intent.succeeded",
        {
            "id": bought["payment_intent_id"],
            "object": "payment_intent",
            "metadata": {"kind": "credit", "tenant_id": admin.tenant_id, "amount": "25.00"},
        },
    )
    content, headers = signed(succeeded)
    for _ in range(2):
        assert (await client.post(WEBHOOK, content=content, headers=headers)).status_code == 200
    state = (await admin.get("/api/v1/tenant/billing/credit")).json()
    assert D(state["credit_balance"]) == D("25.00")
    assert [(p["source"], D(p["amount"])) for p in state["purchases"]] == [("purchase", D("25.00"))]

    async with db.scope(uuid.UUID(admin.tenant_id)):  # the record is append-only, like the ledger
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await db.execute(
                "UPDATE credit_purchases SET amount = 1 WHERE tenant_id = $1", uuid.UUID(admin.tenant_id)
            )

    bad = await register(client)
    await add_card(bad, localstripe, DECLINED_CARD)
    r = await bad.post("/api/v1/tenant/billing/credit", json={"amount": "10", "request_key": "declined-1"})
    assert r.status_code == 402 and r.json()["code"] == "payment_declined"
    assert D((await bad.get("/api/v1/tenant/billing/credit")).json()["credit_balance"]) == 0


async def test_spend_alerts_mail_the_admins_once_at_80_and_at_100_percent(client, database, mailbox) -> None:
    admin = await register(client)
    tenant = uuid.UUID(admin.tenant_id)
    model = await priced_model(cost="0.1", billing="1.0")  # 1.0 per 1k tokens
    async with db.scope(system=True):
        await db.execute("UPDATE tenants SET monthly_cap = 10 WHERE id = $1", tenant)
    await service.record_batch([usage(tenant, model, 8_500)])  # 8.50 of 10
    await credit.check_alerts()
    await credit.check_alerts()  # nothing new: no second mail
    mails = await mailbox.wait_for(to=admin.email, subject="Spend alert")
    assert len(mails) == 1 and "80%" in str(mails[0]["Subject"])
    await service.record_batch([usage(tenant, model, 2_000)])  # 10.50 of 10
    await credit.check_alerts()
    mails = await mailbox.wait_for(to=admin.email, subject="Spend alert", count=2)
    assert "100%" in str(mails[1]["Subject"]) and "refused" in body(mails[1])
    assert len(mailbox.messages(to=admin.email, subject="Spend alert")) == 2


async def test_credit_alert_when_most_of_a_top_up_is_used(client, database, mailbox) -> None:
    admin = await register(client)
    tenant = uuid.UUID(admin.tenant_id)
    async with db.scope(tenant):
        await credit.land(tenant, D("10"), "purchase", f"pi_test_{uuid.uuid4().hex}")
    model = await priced_model(cost="0.1", billing="1.0")
    await service.record_batch([usage(tenant, model, 9_000)])  # the ledger debits 9 of the 10
    await credit.check_alerts()
    mails = await mailbox.wait_for(to=admin.email, subject="Credit alert")
    assert "80%" in str(mails[0]["Subject"]) and "1.00 USD" in body(mails[0])


async def test_plans_set_tier_and_include_credit_once_per_period(client, database) -> None:
    root = await app_admin(client)
    name = f"pro-{uuid.uuid4().hex[:6]}"
    plan = {
        "name": name,
        "tier": "pro",
        "monthly_price": "49",
        "annual_price": "490",
        "included_credit": "10",
    }
    r = await root.post("/api/v1/admin/billing/plans", json={**plan, "max_concurrency": 12})
    assert r.status_code == 201, r.text
    assert (await root.post("/api/v1/admin/billing/plans", json=plan)).status_code == 409
    small = f"basic-{uuid.uuid4().hex[:6]}"
    body_small = {"name": small, "tier": "free", "monthly_price": "0", "annual_price": "0"}
    assert (await root.post("/api/v1/admin/billing/plans", json=body_small)).status_code == 201

    admin = await register(client)
    names = [p["name"] for p in (await admin.get("/api/v1/tenant/billing/plans")).json()]
    assert name in names and small in names
    r = await admin.put("/api/v1/tenant/billing/subscription", json={"plan_name": name})
    assert r.status_code == 200, r.text
    assert (r.json()["tier"], D(r.json()["credit_balance"])) == ("pro", D(10))
    again = await admin.put("/api/v1/tenant/billing/subscription", json={"plan_name": name})
    assert D(again.json()["credit_balance"]) == D(10)  # the period's allowance landed already
    async with db.scope(system=True):
        row = await db.fetchrow(
            "SELECT tier, max_concurrency FROM tenants WHERE id = $1", uuid.UUID(admin.tenant_id)
        )
    assert row is not None and (row["tier"], row["max_concurrency"]) == ("pro", 12)

    down = await admin.put(
        "/api/v1/tenant/billing/subscription", json={"plan_name": small, "billing_cycle": "annual"}
    )
    assert (down.json()["tier"], down.json()["billing_cycle"]) == ("free", "annual")
    r = await admin.delete("/api/v1/tenant/billing/subscription")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert (await admin.delete("/api/v1/tenant/billing/subscription")).status_code == 409
    r = await admin.put("/api/v1/tenant/billing/subscription", json={"plan_name": "no-such-plan"})
    assert r.status_code == 404

    plan_id = next(
        p["id"] for p in (await root.get("/api/v1/admin/billing/plans")).json() if p["name"] == name
    )
    r = await root.patch(f"/api/v1/admin/billing/plans/{plan_id}", json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert name not in [p["name"] for p in (await admin.get("/api/v1/tenant/billing/plans")).json()]


async def test_partner_statements_match_earnings_to_the_cent_and_download(client, database) -> None:
    root = await app_admin(client)
    p = await partner(root, commission_pct="17.5")
    tenants = []
    for name in ("Alpha", "Beta"):
        body_, admin_email = await resold_tenant(p, name)
        tenants.append((uuid.UUID(body_["id"]), await login(client, admin_email)))
    model = await priced_model(cost="0.3333", billing="1.1111")
    for i, (tenant, _) in enumerate(tenants):
        await service.record_batch([usage(tenant, model, 1234 + 777 * k, 99 + i) for k in range(3)])

    month = f"{await clock.now():%Y-%m}"
    start, end = invoices.period_of(await clock.now())
    earn = await p.get("/api/v1/partner/earnings", params={"from": start.isoformat(), "to": end.isoformat()})
    statement = (await p.get(f"/api/v1/partner/statements/{month}")).json()
    by_tenant = {row["tenant_id"]: D(row["partner_commission"]) for row in earn.json()["tenants"]}
    assert {line["tenant_id"]: D(line["commission"]) for line in statement["lines"]} == {
        k: v for k, v in by_tenant.items() if v
    }
    assert D(statement["exact_total"]) == D(earn.json()["total_commission"])
    assert D(statement["total"]) == invoices.round_cents(D(earn.json()["total_commission"]))
    assert month in [m["month"] for m in (await p.get("/api/v1/partner/statements")).json()]

    rows = list(csv.reader(io.StringIO((await p.get(f"/api/v1/partner/statements/{month}/csv")).text)))
    assert rows[-1][2] == "TOTAL" and D(rows[-1][5]) == D(statement["total"])
    pdf = await p.get(f"/api/v1/partner/statements/{month}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (await p.get("/api/v1/partner/statements/2026-13")).status_code == 400

    revenue = (await root.get("/api/v1/admin/billing/revenue", params={"months": 1})).json()
    here = next(m for m in revenue if m["month"] == month)
    mine = next(x for x in here["partners"] if x["partner_id"] == p.extra["partner"]["id"])
    assert D(mine["partner_commission"]) == D(statement["exact_total"])
    assert D(here["tenant_revenue"]) >= D(mine["tenant_revenue"]) > 0


async def test_a_plan_puts_its_fee_on_the_invoice_beside_the_usage(client, database) -> None:
    root = await app_admin(client)
    name = f"team-{uuid.uuid4().hex[:6]}"
    plan = {
        "name": name,
        "tier": "pro",
        "monthly_price": "19.99",
        "annual_price": "199",
        "included_credit": "0",
    }
    assert (await root.post("/api/v1/admin/billing/plans", json=plan)).status_code == 201
    admin = await register(client)
    tenant = uuid.UUID(admin.tenant_id)
    assert (
        await admin.put("/api/v1/tenant/billing/subscription", json={"plan_name": name})
    ).status_code == 200
    model = await priced_model(cost="0.1", billing="1.0")
    await service.record_batch([usage(tenant, model, 1_234)])  # 1.234 -> 1.23
    start, end = invoices.period_of(await clock.now())
    async with db.scope(tenant):
        invoice = await invoices.close_period(tenant, start, end)
        assert invoice is not None
        lines = await invoices.lines(invoice["id"])
    fee = [line for line in lines if line["resource_type"].startswith("plan:")]
    assert [line["amount"] for line in fee] == [D("19.99")]
    assert invoice["total_amount"] == D("19.99") + D("1.23")
