"""The limits and GDPR screens in Chromium: a tenant admin's "Plan & data" (limits, this
hour's use, the data download), the app admin's tier editor and tenant erasure, and a chat
message that waits for a slot showing its place in line, at desktop width and at 375 px."""

from __future__ import annotations

import json
import uuid

import httpx
from playwright.async_api import Dialog, expect
from test_limits import own_tier
from test_spa_browser import sign_in

from helpers.api import app_admin, register
from helpers.browser import PHONE, assert_contrast, no_horizontal_scroll, tab
from helpers.chat_fixtures import fake_agent, set_max_concurrency
from helpers.platform import Platform


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()


async def test_a_tenant_admin_sees_the_plan_limits_and_downloads_all_data(
    browser, platform: Platform
) -> None:
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        admin = await register(client, "Plan console")
    await own_tier(admin.tenant_id, concurrent_executions=7, requests_per_hour=40)
    async with tab(browser, platform.base_url, accept_downloads=True) as t:
        await sign_in(t, admin.email)
        await t.page.get_by_role("link", name="Plan & data").click()
        limits = t.page.get_by_role("table", name="Plan limits")
        await expect(limits.get_by_role("row").filter(has_text="Replies at once")).to_contain_text(
            "7 (0 running, 0 waiting)"
        )
        await expect(limits.get_by_role("row").filter(has_text="Requests this hour")).to_contain_text(
            "0 of 40 used"
        )
        await expect(limits.get_by_role("row").filter(has_text="API calls this hour")).to_contain_text(
            "unlimited"
        )
        t.page.once("dialog", _accept)
        async with t.page.expect_download() as downloading:
            await t.page.get_by_role("button", name="Download all data").click()
        download = await downloading.value
        archive = json.loads(open(await download.path(), encoding="utf-8").read())  # noqa: ASYNC230 (a local temp file)
        assert (
            archive["tenant_id"] == admin.tenant_id and archive["tables"]["users"][0]["email"] == admin.email
        )
        await expect(t.page.get_by_text("Downloaded hirebuddha-export-")).to_be_visible()
        await assert_contrast(t)
        await t.shot("plan-desktop")
        t.assert_clean()
    async with tab(browser, platform.base_url, viewport=PHONE) as t:
        await sign_in(t, admin.email)
        await t.go("/console/plan")
        await expect(t.page.get_by_role("table", name="Plan limits")).to_be_visible()
        await no_horizontal_scroll(t)
        await t.shot("plan-phone")
        t.assert_clean()


async def test_the_app_admin_edits_a_tier_and_erases_a_tenant_after_confirming(
    browser, platform: Platform
) -> None:
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        root = await app_admin(client)
        doomed = await register(client, f"Doomed {uuid.uuid4().hex[:6]}")
        tier = await own_tier(doomed.tenant_id)
        name = (await doomed.get("/api/v1/tenant")).json()["name"]
        async with tab(browser, platform.base_url) as t:
            await sign_in(t, root.email)
            await t.page.get_by_role("link", name="Tiers").click()
            form = t.page.get_by_role("form", name=f"Limits of {tier}")
            await form.get_by_label("Requests per hour").fill("25")
            await form.get_by_role("button", name=f"Save {tier}").click()
            await expect(form.get_by_text(f"Saved. Tenants on {tier}")).to_be_visible()
            await t.shot("tiers-desktop")

            await t.go("/admin/tenants")
            row = t.page.get_by_role("row").filter(has_text=name)
            await row.get_by_role("button", name="Delete…").click()
            confirm = t.page.get_by_role("button", name="Delete workspace")
            await expect(confirm).to_be_disabled()
            await t.page.get_by_label("Type the workspace's name to confirm").fill(name)
            await confirm.click()
            # Erasure deletes every table's rows of the tenant: seconds when the suite is busy.
            await expect(t.page.get_by_text(f"Deleted {name}.")).to_be_visible(timeout=30_000)
            await expect(t.page.get_by_role("row").filter(has_text="Deleted workspace").first).to_be_visible()
            await assert_contrast(t)
            t.assert_clean()
        async with tab(browser, platform.base_url, viewport=PHONE) as t:
            await sign_in(t, root.email)
            await t.go("/admin/tiers")
            await expect(
                t.page.get_by_role("form", name=f"Limits of {tier}").get_by_label("Requests per hour")
            ).to_have_value("25")
            await no_horizontal_scroll(t)
            await t.shot("tiers-phone")
            t.assert_clean()
        tiers = {x["tier"]: x for x in (await root.get("/api/v1/admin/tiers")).json()}
        assert tiers[tier]["requests_per_hour"] == 25
        statuses = {x["id"]: x["status"] for x in (await root.get("/api/v1/admin/tenants")).json()}
        assert statuses[doomed.tenant_id] == "deleted"


async def test_a_chat_message_waiting_for_a_slot_shows_its_place_in_line(browser, platform: Platform) -> None:
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        admin = await register(client, "Queue console")
        await fake_agent(admin, name="Queued")
    await set_max_concurrency(admin.tenant_id, 1)
    async with tab(browser, platform.base_url, viewport=PHONE) as t:
        await sign_in(t, admin.email)
        await t.go("/chat")
        await t.page.get_by_role("button", name="Start chat").click()
        await expect(t.page.locator("[data-socket=open]")).to_be_visible()
        composer = t.page.get_by_label("Message")
        await composer.fill("[[reply:30000]]")  # a minute at the fake LLM's pace: until Stop
        await composer.press("Enter")
        first = t.page.locator("article.msg-assistant").last
        await expect(first.locator(".md")).to_contain_text("tok5 ")
        # A second conversation's message now waits: the tenant may run one reply at once.
        async with tab(browser, platform.base_url, viewport=PHONE) as other:
            await sign_in(other, admin.email)
            await other.go("/chat")
            await other.page.get_by_role("button", name="Start chat").click()
            await expect(other.page.locator("[data-socket=open]")).to_be_visible()
            await other.page.get_by_label("Message").fill("[[reply:5]]")
            await other.page.get_by_label("Message").press("Enter")
            waiting = other.page.locator("article.msg-assistant").last
            await expect(waiting).to_have_attribute("data-status", "queued")
            await expect(waiting.get_by_role("status")).to_contain_text("number 1 in line")
            await no_horizontal_scroll(other)
            await other.shot("chat-queued-phone")
            # The first reply frees the slot. Its tokens stream all along, so the phone
            # page scrolls under the pointer at every frame and a pointer click never finds the
            # button still: dispatch the click to the button itself.
            await t.page.get_by_role("button", name="Stop").dispatch_event("click")
            await expect(waiting).to_have_attribute("data-status", "completed")
            await expect(waiting.locator(".md")).to_contain_text("tok5")
            other.assert_clean()
        t.assert_clean()
