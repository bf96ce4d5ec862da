"""A suspended workspace in Chromium (docs/billing.md "Dunning"): its admin still signs in,
every page shows the suspension banner with a link to Billing, Billing opens, and a chat
message is refused with words that say how to restore it; at desktop width and at 375 px.
The app admin suspends it (the same status dunning sets on day 14): the banner says to ask
the platform; marked suspended for payment, it links to Billing."""

from __future__ import annotations

import uuid

import httpx
from playwright.async_api import expect
from test_spa_browser import sign_in

from helpers.api import app_admin, register
from helpers.browser import PHONE, assert_contrast, no_horizontal_scroll, tab
from helpers.chat_fixtures import fake_agent, open_session
from helpers.platform import Platform
from runtime import db


async def test_a_suspended_workspaces_admin_signs_in_sees_the_banner_reaches_billing_and_chat_is_refused(
    browser, platform: Platform
) -> None:
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        root = await app_admin(client)
        admin = await register(client, "Suspended console")
        bot = await fake_agent(admin, name="Paused")
        session = await open_session(admin, bot["id"])
        r = await root.patch(f"/api/v1/admin/tenants/{admin.tenant_id}", json={"status": "suspended"})
        assert r.status_code == 200, r.text
    async with tab(browser, platform.base_url) as t:  # suspended by the platform: ask it
        await sign_in(t, admin.email)
        banner = t.page.get_by_test_id("suspended-banner")
        await expect(banner).to_contain_text("the platform suspended it")
        await expect(banner.get_by_role("link", name="Billing")).to_have_count(0)
        t.assert_clean()
    async with db.scope(system=True):  # what dunning does on day 14 (billing.charging.suspend_unpaid)
        await db.execute(
            "UPDATE tenants SET billing_suspended_at = now() WHERE id = $1", uuid.UUID(admin.tenant_id)
        )
    async with tab(browser, platform.base_url) as t:
        await sign_in(t, admin.email)
        banner = t.page.get_by_test_id("suspended-banner")
        await expect(banner).to_contain_text("Your workspace is suspended for an unpaid invoice")
        await banner.get_by_role("link", name="Billing").click()
        await expect(t.page).to_have_url(f"{t.base}/console/billing")
        await expect(t.page.locator("main h1")).to_be_visible()
        await t.go(f"/chat/{session}")
        await expect(t.page.locator("[data-socket=open]")).to_be_visible()
        composer = t.page.get_by_label("Message")
        await composer.fill("[[reply:3]] anyone there?")
        await composer.press("Enter")
        refusal = "Your workspace is suspended for an unpaid invoice, so agents do not answer"
        await expect(t.page.get_by_text(refusal)).to_be_visible()
        await assert_contrast(t)
        await t.shot("suspended-chat-desktop")
        t.assert_clean()
    async with tab(browser, platform.base_url, viewport=PHONE) as t:
        await sign_in(t, admin.email)
        await expect(t.page.get_by_test_id("suspended-banner")).to_be_visible()
        await no_horizontal_scroll(t)
        await t.shot("suspended-phone")
        t.assert_clean()
