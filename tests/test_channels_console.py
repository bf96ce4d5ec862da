"""The console's channel screens in Chromium: widgets (create, snippet, preview), channels
(connect Telegram and WhatsApp, the webhook URL to paste) and a partner's branding page
(live preview, a brand refused below WCAG AA); a partner's tenant then sees the partner's
name and colours in its console and in its mail (docs/channels.md)."""

from __future__ import annotations

import uuid

from playwright.async_api import expect
from test_spa_browser import sign_in

from helpers.api import agent, app_admin, partner, register, resold_tenant
from helpers.browser import PHONE, assert_contrast, no_horizontal_scroll, tab
from runtime.branding import send_branded
from runtime.mail import Mail


async def test_a_tenant_admin_creates_a_widget_and_connects_channels(browser, client, server):
    admin = await register(client, "Widget Works")
    helper = await agent(admin, name="Front desk")
    async with tab(browser, server) as t:
        await sign_in(t, admin.email)
        await t.page.get_by_role("link", name="Widgets").click()
        await expect(t.page.get_by_role("heading", level=1)).to_have_text("Widgets")
        await t.page.get_by_label("Agent").select_option(label=helper["name"])
        await t.page.get_by_label("Widget name").fill("Careers page")
        await t.page.get_by_label("Allowed origins").fill("https://careers.example")
        await t.page.get_by_label("Title").fill("Ask our recruiter")
        await expect(t.page.get_by_label("Widget preview")).to_contain_text("Ask our recruiter")
        await t.page.get_by_role("button", name="Create widget").click()
        snippet = t.page.get_by_label("Widget snippet")
        await expect(snippet).to_contain_text(f'{server}/widget.js" data-widget="wk_')
        await expect(t.page.get_by_role("table", name="Widgets")).to_contain_text("https://careers.example")
        await assert_contrast(t)
        await t.shot("widgets-desktop")
        # The real widget on the console (its own origin is allowed for every widget).
        await t.page.get_by_role("button", name="Try Careers page live").click()
        await t.page.get_by_role("button", name="Open chat").click()
        await expect(t.page.get_by_role("log", name="Conversation")).to_contain_text("Hi! How can I help?")
        await expect(
            t.page.get_by_role("dialog", name="Ask our recruiter").get_by_role("button", name="Send")
        ).to_be_enabled()
        await assert_contrast(t)
        await t.shot("widgets-live-preview")
        # Channels: Telegram with a bot token, then the URL and secret to paste.
        await t.page.get_by_role("link", name="Channels").click()
        await expect(t.page.get_by_role("button", name="Open chat")).to_have_count(0)  # gone with its page
        telegram = t.page.get_by_role("form", name="Connect Telegram")
        await telegram.get_by_label("Agent").select_option(label=helper["name"])
        await telegram.get_by_label("Channel name").fill("Support bot")
        await telegram.get_by_label("Bot token").fill("123456789:AAE-console_test_token_000001")
        await telegram.get_by_role("button", name="Connect").click()
        await expect(t.page.get_by_label("Webhook URL")).to_contain_text(f"{server}/api/v1/channels/")
        await expect(t.page.get_by_label("Secret token")).not_to_be_empty()
        whatsapp = t.page.get_by_role("form", name="Connect WhatsApp")
        await whatsapp.get_by_label("Agent").select_option(label=helper["name"])
        await whatsapp.get_by_label("Channel name").fill("WhatsApp desk")
        await whatsapp.get_by_label("Phone number ID").fill("1065550000")
        await whatsapp.get_by_label("Access token").fill("EAAG-console-token")
        await whatsapp.get_by_label("App secret").fill("console-app-secret")
        await whatsapp.get_by_role("button", name="Connect").click()
        await expect(t.page.get_by_label("Verify token")).not_to_be_empty()
        table = t.page.get_by_role("table", name="Channels")
        await expect(table).to_contain_text("Support bot")
        await expect(table).to_contain_text("WhatsApp desk")
        await assert_contrast(t)
        await t.shot("channels-desktop")
        t.assert_clean()
    async with tab(browser, server, viewport=PHONE) as t:
        await sign_in(t, admin.email)
        for path in ("/console/widgets", "/console/channels"):
            await t.go(path)
            await expect(t.page.locator("main h1")).to_be_visible()
            await no_horizontal_scroll(t)
        await t.shot("channels-phone")
        t.assert_clean()


async def test_a_partners_tenant_sees_the_partners_name_and_colours_in_console_and_mail(
    browser, client, server, mailbox
):
    reseller = await partner(await app_admin(client))
    tenant, address = await resold_tenant(reseller, f"Resold {uuid.uuid4().hex[:4]}")
    async with tab(browser, server) as t:
        await sign_in(t, reseller.email)
        await t.page.get_by_role("link", name="Branding").click()
        await t.page.get_by_label("Product name").fill("Acme Talent")
        await t.page.get_by_label("Primary colour").fill("#ffd966")  # white on it: unreadable
        await expect(t.page.get_by_label("Brand preview")).to_contain_text("Acme Talent")
        await t.page.get_by_role("button", name="Save brand").click()
        await expect(t.page.get_by_role("alert").filter(has_text="WCAG AA")).to_be_visible()
        await t.page.get_by_label("Primary colour").fill("#0b5394")
        await t.page.get_by_label("Accent colour").fill("#0b5394")
        await t.page.get_by_label("Support email").fill("help@acme-talent.example")
        await t.page.get_by_role("button", name="Save brand").click()
        await expect(t.page.get_by_text("Saved.")).to_be_visible()
        await t.shot("branding-desktop")
    async with tab(browser, server) as t:
        await sign_in(t, address)
        await expect(t.page.get_by_test_id("product-name")).to_have_text("Acme Talent")
        primary = await t.page.evaluate(
            "() => getComputedStyle(document.documentElement).getPropertyValue('--brand-primary').trim()"
        )
        assert primary == "#0b5394"
        await assert_contrast(t)
        await t.shot("partner-tenant-console")
        t.assert_clean()
    await send_branded(
        uuid.UUID(tenant["id"]), Mail(to=(address,), subject="Your invitation", text="Welcome aboard.")
    )
    [message] = await mailbox.wait_for(to=address, subject="Your invitation")
    assert message["From"].addresses[0].display_name == "Acme Talent"
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Acme Talent" in html and "background:#0b5394" in html
