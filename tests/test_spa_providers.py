"""The console's providers, model catalog and agent model picker in a real browser (Debian's
Chromium) against the real web process and the fake LLM: the app admin adds a provider,
tests its connection, adds and (de)activates a catalog model; a tenant admin's agent editor
offers catalog models with context window and price, and keeps a fallback on save."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, expect

from helpers.api import PASSWORD, agent, app_admin, register
from helpers.browser import PHONE, Tab, no_horizontal_scroll, tab
from helpers.fake_llm import FakeLLM
from helpers.ledger import priced_model
from helpers.platform import Platform, running_platform


@pytest.fixture(scope="module")
async def platform(database: str, fake_llm: FakeLLM) -> AsyncIterator[Platform]:
    async with running_platform(fake_llm, 1) as running:
        yield running


async def sign_in(t: Tab, address: str) -> None:
    await t.go("/login")
    await t.page.get_by_label("Email").fill(address)
    await t.page.get_by_label("Password").fill(PASSWORD)
    await t.page.get_by_role("button", name="Sign in").click()
    await t.page.wait_for_url(lambda url: "/login" not in url)


def card(t: Tab, title: str):
    return t.page.locator("section.card").filter(has=t.page.get_by_role("heading", name=title, exact=True))


async def test_admin_adds_a_provider_tests_it_and_manages_the_catalog(
    browser: Browser, platform: Platform, fake_llm: FakeLLM
):
    name, model = f"vendor-{uuid.uuid4().hex[:5]}", f"vx-{uuid.uuid4().hex[:5]}"
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        root = await app_admin(client)
        for resource in ("input_tokens", "output_tokens"):
            body = {
                "model": model,
                "resource_type": resource,
                "unit": "1m_tokens",
                "cost_rate": "1",
                "billing_rate": "2",
            }
            assert (await root.post("/api/v1/admin/rates", json=body)).status_code == 201
    async with tab(browser, platform.base_url) as t:
        await sign_in(t, root.email)
        await t.go("/admin/providers")
        await t.page.get_by_label("Provider name").fill(name)
        await t.page.get_by_label("Provider base URL").fill(fake_llm.base_url)
        await t.page.get_by_label("Provider API key").fill("sk-console-secret")
        await t.page.get_by_role("button", name="Add provider").click()
        mine = card(t, name)
        await expect(mine.get_by_text("breaker closed")).to_be_visible()
        await expect(mine.get_by_text("Key set")).to_be_visible()
        await mine.get_by_role("button", name="Test connection").click()
        await expect(mine.get_by_text("Connected: 1 model(s) offered (fake).")).to_be_visible()
        assert "sk-console-secret" not in await t.page.content()
        await t.shot("admin-providers-added-desktop")

        await t.go("/admin/models")
        await t.page.get_by_label("Key").fill(model)
        await t.page.get_by_label("Display name").fill("Vendor X chat")
        await t.page.get_by_label("Provider").select_option(name)
        await t.page.get_by_label("Context window").fill("32000")
        await t.page.get_by_role("button", name="Add model").click()
        row = t.page.get_by_role("row").filter(has_text=model)
        await expect(row.get_by_text("32,000")).to_be_visible()
        await row.get_by_role("button", name="Deactivate").click()
        await expect(row.get_by_role("button", name="Activate")).to_be_visible()
        await row.get_by_role("button", name="Activate").click()
        await expect(row.get_by_role("button", name="Deactivate")).to_be_visible()
        await t.shot("admin-models-desktop")
        t.assert_clean()

    async with tab(browser, platform.base_url, viewport=PHONE) as t:
        await sign_in(t, root.email)
        for screen in ("providers", "models"):
            await t.go(f"/admin/{screen}")
            await expect(t.page.locator("main h1")).to_be_visible()
            await no_horizontal_scroll(t)
            await t.shot(f"admin-{screen}-phone")


async def test_agent_editor_picks_catalog_models_shows_their_price_and_keeps_the_fallback(
    browser: Browser, platform: Platform
):
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        admin = await register(client)
        priced = await priced_model()  # billing 1.0 per 1k tokens, in and out
        fallback = {"provider": "demo", "model": "demo-1"}
        bot = await agent(
            admin, name="Picker", llm_config={"model": "fake", "provider": "openai", "fallback": fallback}
        )
        async with tab(browser, platform.base_url) as t:
            await sign_in(t, admin.email)
            await t.go(f"/console/agents/{bot['id']}")
            picker = t.page.get_by_label("Model", exact=True)
            await expect(picker).to_have_value("fake")
            await expect(t.page.get_by_label("Fallback model")).to_have_value("demo-1")
            # The agent's model shows as "not in the catalog" until the catalog has loaded:
            # wait for its catalog entry before reading the options (a snapshot, no waiting).
            listed = picker.locator("option").filter(has_text="fake — openai · 8,192 ctx")
            await expect(listed).to_have_count(1)
            options = await picker.locator("option").all_inner_texts()
            assert any(o.startswith("fake — openai · 8,192 ctx") for o in options), options
            assert f"{priced} — demo · 8,192 ctx · in 1.000000 / out 1.000000 per 1k tokens" in options, (
                options
            )
            await t.page.get_by_label("Name", exact=True).fill("Picker renamed")
            await t.page.get_by_label("Slug").fill("picker")
            await t.page.get_by_role("button", name="Save changes").click()
            await expect(t.page.get_by_text("Saved.")).to_be_visible()
            await t.shot("agent-editor-models-desktop")
            t.assert_clean()
        saved = (await admin.get(f"/api/v1/agents/{bot['id']}")).json()
        assert saved["name"] == "Picker renamed" and saved["slug"] == "picker"
        assert saved["llm_config"]["fallback"] == fallback, saved["llm_config"]
        assert saved["llm_config"]["model"] == "fake" and saved["llm_config"]["provider"] == "openai"
