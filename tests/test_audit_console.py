"""The audit log screens in Chromium: the app admin's (every tenant and the platform) and a
tenant admin's (own workspace), filtered by action, at desktop width and at 375 px.
"""

from __future__ import annotations

import uuid

from playwright.async_api import expect
from test_spa_browser import sign_in

from helpers.api import app_admin, register
from helpers.browser import PHONE, assert_contrast, no_horizontal_scroll, tab


async def test_a_tenant_admin_reads_and_filters_their_workspaces_audit_log(browser, client, server):
    admin = await register(client, "Console audit")
    assert (await admin.post("/api/v1/tenant/webhook-secret/rotate")).status_code == 200
    async with tab(browser, server) as t:
        await sign_in(t, admin.email)
        await t.page.get_by_role("link", name="Audit log").click()
        await expect(t.page.get_by_role("heading", level=1)).to_have_text("Audit log")
        log = t.page.get_by_role("table", name="Audit log")
        await expect(log.get_by_text("tenant.webhook_secret_rotate")).to_be_visible()
        await expect(log.get_by_text("auth.register")).to_be_visible()
        await t.shot("tenant-audit-desktop")
        await t.page.get_by_label("Action").fill("auth.")
        await t.page.get_by_role("button", name="Filter").click()
        await expect(log.get_by_text("tenant.webhook_secret_rotate")).to_have_count(0)
        await expect(log.get_by_text("auth.register")).to_be_visible()
        await assert_contrast(t)
        t.assert_clean()
    async with tab(browser, server, viewport=PHONE) as t:
        await sign_in(t, admin.email)
        await t.go("/console/audit")
        await expect(t.page.get_by_text("tenant.webhook_secret_rotate")).to_be_visible()
        await no_horizontal_scroll(t)
        await assert_contrast(t)
        await t.shot("tenant-audit-phone")
        t.assert_clean()


async def test_the_app_admin_sees_model_creation_in_the_platform_audit_log(browser, client, server):
    root = await app_admin(client)
    key = f"console-{uuid.uuid4().hex[:6]}"
    model = {"model_key": key, "model_name": key, "provider": "openai", "is_active": False}  # unpriced
    r = await root.post("/api/v1/admin/models", json=model)
    assert r.status_code == 201, r.text
    for viewport in (None, PHONE):
        async with tab(browser, server, viewport=viewport) as t:
            await sign_in(t, root.email)
            await t.go("/admin/audit")
            await t.page.get_by_label("Action").fill("model.create")
            await t.page.get_by_role("button", name="Filter").click()
            row = t.page.get_by_role("row").filter(has_text=key)
            await expect(row).to_contain_text("model.create")
            await expect(row).to_contain_text(root.email)
            if viewport:
                await no_horizontal_scroll(t)
            await assert_contrast(t)
            await t.shot("admin-audit-phone" if viewport else "admin-audit-desktop")
            t.assert_clean()
