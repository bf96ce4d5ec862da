"""The console in a real browser (Debian's Chromium) against real web + actors processes
and the fake LLM: sign-up to streamed chat, API keys, partner and admin screens, and the
quality bar (contrast, reduced motion, 375 px, no console errors). Screenshots of each
screen land in build/test-artifacts/spa/.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, expect

from helpers.api import PASSWORD, app_admin, email, partner
from helpers.browser import DIST, PHONE, Tab, assert_contrast, chromium, no_horizontal_scroll, tab
from helpers.fake_llm import FakeLLM, fake_llm_fixture  # noqa: F401  (fixture)
from helpers.platform import Platform, running_platform

pytestmark = pytest.mark.skipif(
    not (DIST / "index.html").exists(), reason="spa/dist is not built: run `make install` (npm run build)"
)


@pytest.fixture(scope="module")
async def platform(database: str, fake_llm: FakeLLM) -> AsyncIterator[Platform]:
    async with running_platform(fake_llm, 1) as running:
        yield running


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


@pytest.fixture(scope="module")
async def people(platform: Platform) -> AsyncIterator[dict]:
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        root = await app_admin(client)
        yield {"root": root, "partner": await partner(root)}


async def sign_in(t: Tab, address: str) -> None:
    await t.go("/login")
    await t.page.get_by_label("Email").fill(address)
    await t.page.get_by_label("Password").fill(PASSWORD)
    await t.page.get_by_role("button", name="Sign in").click()
    await t.page.wait_for_url(lambda url: "/login" not in url)
    await expect(t.page.locator("main h1")).to_be_visible()


async def register(t: Tab) -> str:
    address = email("spa")
    await t.go("/register")
    await t.page.get_by_label("Full name").fill("Sam Spa")
    await t.page.get_by_label("Email").fill(address)
    await t.page.get_by_label("Password").fill(PASSWORD)
    await t.page.get_by_label("Workspace name").fill("Glass Works")
    await t.page.get_by_role("button", name="Create workspace").click()
    await expect(t.page).to_have_url(f"{t.base}/console/agents")
    return address


async def create_agent(t: Tab, name: str) -> None:
    await t.page.get_by_role("link", name="New agent").click()
    await t.page.get_by_label("Name", exact=True).fill(name)
    await t.page.get_by_label("Role (system prompt)").fill("You answer briefly.")
    await t.page.get_by_label("Provider").fill("openai")
    await t.page.get_by_label("Model").fill("fake")
    await t.page.get_by_role("button", name="Create agent").click()
    await expect(t.page.get_by_role("heading", level=1)).to_have_text(name)
    await expect(t.page.get_by_role("button", name="Save changes")).to_be_visible()


async def test_sign_up_create_agent_then_chat_streams_and_stop_halts_a_long_reply(browser, platform):
    async with tab(browser, platform.base_url) as t:
        await register(t)
        await t.shot("agents-desktop")
        await create_agent(t, "Streamer")
        await t.shot("agent-editor-desktop")
        await t.page.get_by_role("link", name="Test chat").click()
        await t.page.get_by_role("button", name="Start chat").click()
        await expect(t.page.locator("[data-socket=open]")).to_be_visible()
        composer = t.page.get_by_label("Message")

        await composer.fill("[[reply:600]]")
        await t.page.get_by_role("button", name="Send").click()
        reply = t.page.locator("article.msg-assistant").last
        lengths: list[int] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and await reply.get_attribute("data-status") != "completed":
            lengths.append(len(await reply.inner_text()))
            await t.page.wait_for_timeout(40)
        assert await reply.get_attribute("data-status") == "completed", "the reply never completed"
        growing = sorted(set(n for n in lengths if n > 0))
        assert len(growing) >= 3, f"the reply did not visibly grow while streaming: {growing}"
        await expect(reply).to_contain_text("tok600")
        await expect(reply.locator(".usage")).to_contain_text("out tokens")

        await composer.fill("[[reply:20000]]")
        await t.page.get_by_role("button", name="Send").click()
        await expect(t.page.locator("article.msg-assistant")).to_have_count(2)
        long = t.page.locator("article.msg-assistant").last
        await expect(long).to_contain_text("tok20 ")
        await t.page.get_by_role("button", name="Stop").click()
        await expect(long).to_have_attribute("data-status", "cancelled")
        stopped = await long.inner_text()
        await t.page.wait_for_timeout(400)
        assert await long.inner_text() == stopped, "text kept arriving after Stop"
        assert "tok20000" not in stopped
        await t.shot("chat-desktop")
        await assert_contrast(t)
        t.assert_clean()


async def test_api_key_is_shown_once_with_copy_then_revoked(browser, platform):
    async with tab(browser, platform.base_url, permissions=["clipboard-read", "clipboard-write"]) as t:
        await register(t)
        await t.go("/console/api-keys")
        await t.page.get_by_label("Key name").fill("ATS")
        await t.page.get_by_role("button", name="Create key").click()
        shown = t.page.get_by_label("New API key")
        key = (await shown.inner_text()).strip()
        assert len(key) > 20
        await t.page.get_by_role("button", name="Copy").click()
        await expect(t.page.get_by_text("Copied")).to_be_visible()
        assert await t.page.evaluate("navigator.clipboard.readText()") == key
        await t.shot("api-keys-desktop")
        await t.page.reload()  # silent refresh through the cookie keeps us signed in
        await expect(t.page.get_by_role("cell", name="ATS")).to_be_visible()
        assert key not in await t.page.content(), "the key must not be shown again"
        t.page.once("dialog", lambda d: d.accept())
        await t.page.get_by_role("button", name="Revoke").click()
        await expect(t.page.get_by_text("revoked")).to_be_visible()
        t.assert_clean()


async def test_admin_rate_shows_for_partner_who_creates_suspends_and_resumes_a_tenant(
    browser, platform, people
):
    model = f"spa-{uuid.uuid4().hex[:6]}"
    async with tab(browser, platform.base_url) as t:
        await sign_in(t, people["root"].email)
        await expect(t.page).to_have_url(f"{t.base}/admin/partners")
        await t.shot("admin-partners-desktop")
        await t.go("/admin/rates")
        await t.page.get_by_label("Model").fill(model)
        await t.page.get_by_label("Cost rate").fill("0.001")
        await t.page.get_by_label("Billing rate").fill("0.002")
        await t.page.get_by_role("button", name="Add rate").click()
        await expect(t.page.get_by_role("cell", name=model)).to_be_visible()
        for screen in ("models", "providers", "dead-letters", "health", "tenants"):
            await t.go(f"/admin/{screen}")
            await expect(t.page.locator("h1")).to_be_visible()
            await t.shot(f"admin-{screen}-desktop")
        t.assert_clean()

    async with tab(browser, platform.base_url) as t:
        await sign_in(t, people["partner"].email)
        await t.go("/partner/rates")
        await expect(t.page.get_by_role("cell", name=model).first).to_be_visible()
        await t.go("/partner/tenants")
        name = f"Resold {uuid.uuid4().hex[:5]}"
        await t.page.get_by_label("Tenant name").fill(name)
        await t.page.get_by_label("Admin full name").fill("Rita Resold")
        await t.page.get_by_label("Admin email").fill(email("resold"))
        await t.page.get_by_label("Admin password").fill(PASSWORD)
        await t.page.get_by_role("button", name="Create tenant").click()
        row = t.page.get_by_role("row").filter(has_text=name)
        await row.get_by_role("button", name="Suspend").click()
        await expect(row).to_contain_text("suspended")
        await row.get_by_role("button", name="Resume").click()
        await expect(row).to_contain_text("active")
        await t.shot("partner-tenants-desktop")
        for screen in ("earnings", "live"):
            await t.go(f"/partner/{screen}")
            await expect(t.page.locator("h1")).to_be_visible()
            await t.shot(f"partner-{screen}-desktop")
        await assert_contrast(t)
        t.assert_clean()


async def test_phone_width_has_no_sideways_scroll_and_text_meets_contrast(browser, platform, people):
    async with tab(browser, platform.base_url, viewport=PHONE) as t:
        await t.go("/login")
        await no_horizontal_scroll(t)
        await assert_contrast(t)
        await t.shot("login-phone")
        await register(t)
        for path in ("/console/agents", "/console/api-keys", "/console/users", "/console/usage", "/chat"):
            await t.go(path)
            await expect(t.page.locator("main h1, main h2").first).to_be_visible()
            await no_horizontal_scroll(t)
            await assert_contrast(t)
            await t.shot(path.strip("/").replace("/", "-") + "-phone")
        await t.page.get_by_role("button", name="Menu").click()
        await expect(t.page.get_by_role("link", name="API keys")).to_be_visible()
        t.assert_clean()

    async with tab(browser, platform.base_url, viewport=PHONE) as t:
        await sign_in(t, people["partner"].email)
        await no_horizontal_scroll(t)
        await t.shot("partner-tenants-phone")
        t.assert_clean()


async def test_reduced_motion_turns_the_physics_off(browser, platform):
    async with tab(browser, platform.base_url, reduced_motion="reduce") as t:
        await t.go("/login")
        button = t.page.get_by_role("button", name="Sign in")
        await button.hover()
        style = await button.evaluate(
            "b => { const s = getComputedStyle(b);"
            " return [s.transitionDuration, s.animationName, s.transform]; }"
        )
        assert style[0] in ("0s", "0s, 0s"), f"transitions still run: {style}"
        assert style[2] == "none", f"hover still lifts the button: {style}"
        sweep = await t.page.locator(".card").first.evaluate("c => getComputedStyle(c, '::after').display")
        assert sweep == "none"
    async with tab(browser, platform.base_url) as t:  # and with motion allowed, it moves
        await t.go("/login")
        button = t.page.get_by_role("button", name="Sign in")
        duration = await button.evaluate("b => getComputedStyle(b).transitionDuration")
        assert duration != "0s"


async def test_console_is_served_with_caching_and_client_route_fallback(platform):
    async with httpx.AsyncClient(base_url=platform.base_url) as client:
        index = await client.get("/")
        assert index.status_code == 200 and '<div id="root">' in index.text
        assert index.headers["cache-control"] == "no-cache"
        deep = await client.get("/chat/some-session")
        assert deep.status_code == 200 and deep.text == index.text
        asset = next((DIST / "assets").glob("*.js")).name
        js = await client.get(f"/assets/{asset}")
        assert js.status_code == 200 and "immutable" in js.headers["cache-control"]
        assert "javascript" in js.headers["content-type"]
        assert (await client.get("/assets/missing-123.js")).status_code == 404
        for path in ("/api/v1/nope", "/health/nope", "/metrics/x", "/schema/nope"):
            r = await client.get(path)
            assert r.status_code in (401, 404) and '<div id="root">' not in r.text, path
        assert (await client.get("/../pyproject.toml")).status_code in (400, 404) or "[project]" not in (
            await client.get("/../pyproject.toml")
        ).text
        assert (await client.get("/health/live")).status_code == 200
