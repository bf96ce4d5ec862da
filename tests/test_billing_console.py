"""The billing screens in Chromium (docs/billing.md): a tenant admin adds a card through
Stripe.js (localstripe's), buys credit, opens an invoice; a partner reads its statement; the
app admin reads revenue, plans, dunning and the mailbox; and the money charts draw one point,
a month and a year inside their axis (the Usage chart drew one day left of an axis from 2027
to 2029). Desktop and 375 px.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid

from playwright.async_api import expect
from test_spa_browser import sign_in

from billing import invoices
from helpers.api import app_admin, login, partner, register, resold_tenant
from helpers.browser import PHONE, Tab, assert_contrast, no_horizontal_scroll, tab
from helpers.eventually import eventually
from helpers.ledger import priced_model, usage
from ledger import service
from runtime import db


async def chart_is_right(t: Tab, points: int, span_days: tuple[float, float]) -> None:
    """The chart has `points` points, all inside the plotting area, over an axis of a span
    between `span_days` days."""
    chart = t.page.get_by_test_id("time-chart").first
    await expect(chart).to_have_attribute("data-points", str(points))
    await expect(chart).to_have_attribute("data-first-point", re.compile(r"^-?\d+$"))

    async def measured() -> list[float]:
        attrs = await chart.evaluate(
            "el => ['xMin', 'xMax', 'firstPoint', 'lastPoint', 'plotWidth'].map((k) => el.dataset[k])"
        )
        return [float(a) for a in attrs]

    # The chart may draw again while its data refetches (a frame where nothing is laid out
    # reads as infinite): read until one layout is complete, then judge that layout.
    lo, hi, first, last, width = await eventually(
        measured, lambda v: all(math.isfinite(x) for x in v), "a laid-out chart", timeout=15
    )
    assert span_days[0] * 86400 <= hi - lo <= span_days[1] * 86400, (lo, hi)
    assert 0 <= first <= last <= width, f"a point outside the axis: {first}..{last} of {width}px"


async def test_money_charts_draw_one_point_a_month_and_a_year_inside_their_axis(
    browser, client, server
) -> None:
    admin = await register(client, "Chart Co")
    tenant = uuid.UUID(admin.tenant_id)
    model = await priced_model()
    await service.record_batch([usage(tenant, model, 1500, 200)])  # one day of usage
    for viewport in (None, PHONE):
        async with tab(browser, server, viewport=viewport) as t:
            await sign_in(t, admin.email)
            await t.go("/console/usage")
            await chart_is_right(t, 1, (29, 31))  # the default: the last 30 days
            year_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=365)).date().isoformat()
            await t.page.get_by_label("From").fill(year_ago)
            await chart_is_right(t, 1, (364, 368))
            await t.shot("usage-chart-year" + ("-phone" if viewport else ""))
            if viewport:
                await no_horizontal_scroll(t)
            t.assert_clean()

    root = await app_admin(client)
    async with tab(browser, server) as t:
        await sign_in(t, root.email)
        await t.go("/admin/revenue")
        await expect(t.page.get_by_role("heading", level=1)).to_have_text("Revenue")
        await chart_is_right(t, 1, (27, 32))  # this month, alone: one point inside its month
        await t.page.get_by_label("Period").select_option("36")
        await expect(t.page.get_by_role("table", name="Revenue by month")).to_be_visible()
        await assert_contrast(t)
        t.assert_clean()


async def test_a_tenant_admin_adds_a_card_buys_credit_and_opens_an_invoice(
    browser, client, server, localstripe
) -> None:
    admin = await register(client, "Billing Co")
    tenant = uuid.UUID(admin.tenant_id)
    model = await priced_model()
    await service.record_batch([usage(tenant, model, 40_000)])
    start = invoices.period_of(dt.datetime(2031, 3, 5, tzinfo=dt.UTC))[0]
    async with db.scope(tenant):
        invoice = await invoices.close_period(tenant, start, invoices.period_of(start)[1])
    assert invoice is not None

    async with tab(browser, server) as t:
        await sign_in(t, admin.email)
        await t.page.get_by_role("link", name="Billing").click()
        await expect(t.page.get_by_role("heading", level=1)).to_have_text("Billing")
        await t.page.get_by_role("button", name="Add card").click()
        card = t.page.get_by_test_id("stripe-card")
        await card.get_by_placeholder("number").fill("4242424242424242")
        await card.get_by_placeholder("exp_month").fill("12")
        await card.get_by_placeholder("exp_year").fill("30")
        await card.get_by_placeholder("cvc").fill("123")
        await card.get_by_placeholder("postal_code").fill("75001")
        await t.page.get_by_role("button", name="Save card").click()
        await expect(t.page.get_by_text("Card saved.")).to_be_visible()
        cards = t.page.get_by_role("table", name="Payment methods")
        await expect(cards.get_by_text("VISA •••• 4242")).to_be_visible()
        await expect(cards.get_by_text("default")).to_be_visible()

        await t.page.get_by_label("Amount (USD)").fill("12.50")
        await t.page.get_by_role("button", name="Buy credit").click()
        await expect(t.page.get_by_text("$12.50 of credit added.")).to_be_visible()
        await expect(t.page.get_by_test_id("credit-balance")).to_have_text("$12.50")

        row = (
            t.page.get_by_role("table", name="Invoices")
            .get_by_role("row")
            .filter(has_text=invoice["invoice_number"])
        )
        await expect(row).to_contain_text("open")
        async with t.page.context.expect_page() as opened:
            await row.get_by_role("button", name="View").click()
        view = await opened.value
        await view.wait_for_load_state()
        assert invoice["invoice_number"] in await view.content()
        async with t.page.expect_download() as download:
            await row.get_by_role("button", name="PDF").click()
        assert (await download.value).suggested_filename == f"{invoice['invoice_number']}.pdf"
        await t.shot("billing-desktop")
        await assert_contrast(t)
        t.assert_clean()

    async with tab(browser, server, viewport=PHONE) as t:
        await sign_in(t, admin.email)
        await t.go("/console/billing")
        await expect(t.page.get_by_text("VISA •••• 4242")).to_be_visible()
        await no_horizontal_scroll(t)
        await t.shot("billing-phone")
        t.assert_clean()


async def test_a_partner_reads_statements_and_the_app_admin_plans_dunning_and_mailbox(
    browser, client, server
) -> None:
    root = await app_admin(client)
    p = await partner(root, commission_pct="25")
    body, admin_email = await resold_tenant(p, "Statement Co")
    model = await priced_model()
    await service.record_batch([usage(uuid.UUID(body["id"]), model, 30_000)])
    month = f"{dt.datetime.now(dt.UTC):%Y-%m}"
    expected = (await p.get(f"/api/v1/partner/statements/{month}")).json()
    assert (await login(client, admin_email)).role == "tenant_admin"

    for viewport in (None, PHONE):
        async with tab(browser, server, viewport=viewport) as t:
            await sign_in(t, p.email)
            await t.go("/partner/statements")
            await expect(t.page.get_by_role("heading", level=1)).to_have_text("Statements")
            await expect(t.page.get_by_test_id("statement-total")).to_have_text(
                f"${float(expected['total']):,.2f}"
            )
            await expect(t.page.get_by_role("table", name=f"Statement {month}")).to_contain_text(
                "Statement Co"
            )
            await chart_is_right(t, 1, (27, 32))
            async with t.page.expect_download() as download:
                await t.page.get_by_role("button", name="CSV").click()
            assert (await download.value).suggested_filename == f"statement-{month}.csv"
            if viewport:
                await no_horizontal_scroll(t)
            t.assert_clean()

    # An invoice of the resold tenant whose charge failed: the app admin voids it on Dunning.
    tenant = uuid.UUID(body["id"])
    start = invoices.period_of(dt.datetime(2031, 7, 5, tzinfo=dt.UTC))[0]
    async with db.scope(tenant):
        invoice = await invoices.close_period(tenant, start, invoices.period_of(start)[1])
        assert invoice is not None
        await db.execute(  # the state billing/charging.py `failed` leaves after a declined card
            "UPDATE invoices SET dunning_started_at = now(), charge_attempts = 1, "
            "last_charge_error = 'card_declined: The card was declined.' WHERE id = $1",
            invoice["id"],
        )
    name = f"team-{uuid.uuid4().hex[:6]}"
    async with tab(browser, server) as t:
        await sign_in(t, root.email)
        await t.go("/admin/plans")
        await t.page.get_by_label("Name").fill(name)
        await t.page.get_by_role("button", name="Create plan").click()
        await expect(
            t.page.get_by_role("table", name="Plans").get_by_role("row").filter(has_text=name)
        ).to_contain_text("active")
        await t.go("/admin/dunning")
        await expect(t.page.get_by_role("heading", level=1)).to_have_text("Dunning")
        row = (
            t.page.get_by_role("table", name="Dunning")
            .get_by_role("row")
            .filter(has_text=invoice["invoice_number"])
        )
        await expect(row).to_contain_text("card_declined")
        await row.get_by_role("button", name="Void…").click()
        await t.page.get_by_label("Reason").fill("goodwill: billed during our outage")
        await t.page.get_by_role("button", name="Void invoice").click()
        await expect(t.page.get_by_text(f"Invoice {invoice['invoice_number']} voided")).to_be_visible()
        await expect(row).to_have_count(0)
        async with db.scope(tenant):
            voided = await db.fetchrow("SELECT status FROM invoices WHERE id = $1", invoice["id"])
        assert voided is not None and voided["status"] == "void"
        await t.go("/admin/mailbox")
        await expect(t.page.get_by_role("heading", level=1)).to_have_text("Mailbox")
        await assert_contrast(t)
        t.assert_clean()
