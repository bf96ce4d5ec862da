"""The console in a real browser (Debian's Chromium) against real web + actors processes
and the fake LLM: sign-up to streamed chat (and its reconnect with resume), API keys,
usage and the ledger, partner live usage fed by the real ledger process, admin screens
(dead-letter retry), and the quality bar (contrast, reduced motion, 375 px, no console
errors). Screenshots of each screen land in build/test-artifacts/spa/.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aio_pika
import httpx
import pytest
from faststream.rabbit import RabbitBroker
from playwright.async_api import expect

from helpers import dead_letters
from helpers.api import PASSWORD, agent, app_admin, email, partner, resold_tenant
from helpers.api import register as api_register
from helpers.browser import (
    DIST,
    PHONE,
    Tab,
    assert_contrast,
    no_horizontal_scroll,
    record_websockets,
    sent_frames,
    tab,
)
from helpers.chat_fixtures import fake_agent
from helpers.dead_letters import body_has
from helpers.eventually import eventually
from helpers.fake_llm import FakeLLM
from helpers.ledger import priced_model, start_ledger_process, usage
from helpers.platform import Platform, fake_reply, running_platform
from ledger import service
from runtime import db
from runtime.broker import Topology, build_broker, topology
from runtime.publishing import publish_usage
from runtime.settings import load_settings
from runtime.tables import DeadLetter


@pytest.fixture(scope="module")
async def platform(database: str, fake_llm: FakeLLM) -> AsyncIterator[Platform]:
    async with running_platform(fake_llm, 1) as running:
        yield running


@pytest.fixture(scope="module")
async def people(platform: Platform) -> AsyncIterator[dict]:
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        root = await app_admin(client)
        yield {"root": root, "partner": await partner(root)}


@dataclass
class Ledger:
    """The real `hirebuddha ledger` process on the platform's AMQP prefix, and a way to feed it."""

    broker: RabbitBroker
    topo: Topology

    async def publish(self, tenant_id: str, model: str, input_tokens: int, output_tokens: int) -> None:
        event = usage(uuid.UUID(tenant_id), model, input_tokens, output_tokens)
        await publish_usage(self.broker, self.topo, event)


@pytest.fixture(scope="module")
async def ledger(platform: Platform, request: pytest.FixtureRequest) -> AsyncIterator[Ledger]:
    # The console's chats answer as the unpriced `fake` model: once this ledger runs, their
    # usage on this platform is dead-lettered "no rate", as the ledger must do.
    prefix = platform.env["HB_AMQP_PREFIX"]
    dead_letters.EXPECTED.append(
        dead_letters.Expectation(
            request.node.nodeid,
            lambda letter: (
                letter.routing_key.startswith(prefix) and "no rate for model 'fake'" in letter.reason
            ),
            None,
            "usage of the console's chats on the unpriced fake model",
        )
    )
    proc = await start_ledger_process("--batch-size", "50", "--batch-ms", "20", env=platform.env)
    broker = build_broker(load_settings({**os.environ, **platform.env}))
    await broker.connect()
    try:
        yield Ledger(broker, topology(platform.env["HB_AMQP_PREFIX"]))
    finally:
        await broker.stop()
        await asyncio.to_thread(proc.stop)


async def tenant_cost(tenant_id: str) -> str:
    """The tenant's ledger total as the console shows money ($ and 6 places)."""
    async with db.scope(system=True):
        row = await db.fetchrow(
            "SELECT coalesce(sum(tenant_cost), 0) AS total FROM ledger_entries WHERE tenant_id = $1",
            uuid.UUID(tenant_id),
        )
    assert row is not None
    return f"${row['total']:,.6f}"


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
    await t.page.get_by_label("Model", exact=True).select_option("fake")  # a catalog model
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
        screens = ("agents", "api-keys", "users", "usage", "budget", "webhooks", "executions")
        for path in (*(f"/console/{s}" for s in screens), "/chat"):
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


async def test_chat_reconnects_mid_reply_and_resumes_without_losing_or_doubling_text(browser, platform):
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        admin = await api_register(client)
        await fake_agent(admin, name="Resumer")
    expected = fake_reply(1000).strip()  # 2 s of streaming at the fake LLM's 500 tokens/s
    async with tab(browser, platform.base_url) as t:
        await record_websockets(t)
        await sign_in(t, admin.email)
        await t.go("/chat")
        await t.page.get_by_role("button", name="Start chat").click()
        await expect(t.page.locator("[data-socket=open]")).to_be_visible()
        await t.page.get_by_label("Message").fill("[[reply:1000]]")
        await t.page.get_by_role("button", name="Send").click()
        text = t.page.locator("article.msg-assistant").last.locator(".md")
        await expect(text).to_contain_text("tok50 ")

        await t.page.evaluate("window.__wsDrop()")
        dropped_at = len(await text.inner_text())
        seen: list[str] = []
        reply = t.page.locator("article.msg-assistant").last
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and await reply.get_attribute("data-status") != "completed":
            seen.append((await text.inner_text()).strip())
            await t.page.wait_for_timeout(30)
        assert await reply.get_attribute("data-status") == "completed", "the reply never completed"
        final = (await text.inner_text()).strip()
        assert final == expected, f"final text differs from the provider's reply: ...{final[-120:]!r}"
        assert all(expected.startswith(s) for s in seen), "text was doubled or garbled while resuming"
        streamed = [s for s in seen if dropped_at < len(s) < len(expected)]
        assert streamed, "after the reconnect the reply did not stream on (it only jumped to the end)"
        resumes = [f for f in await sent_frames(t) if f["type"] == "resume"]
        assert resumes and resumes[0]["after_seq"] > 0, f"no resume from where the text stopped: {resumes}"
        t.assert_clean()


async def test_tenant_usage_shows_totals_by_agent_and_model_and_pages_the_ledger(browser, platform):
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        admin = await api_register(client)
        bot = await agent(admin, name="Counted")
    model = await priced_model()
    events = []
    for i in range(15):  # 30 entries: input and output per call; the console pages 25 at a time
        event = usage(uuid.UUID(admin.tenant_id), model, 1000 + i, 10)
        event.agent_id = uuid.UUID(bot["id"])
        events.append(event)
    result = await service.record_batch(events)
    assert not result.rejected, result.rejected

    async with tab(browser, platform.base_url) as t:
        await sign_in(t, admin.email)
        await t.go("/console/usage")
        await expect(t.page.get_by_test_id("usage-total")).to_contain_text("15,255")
        await expect(t.page.get_by_test_id("usage-total")).to_contain_text(await tenant_cost(admin.tenant_id))
        await expect(t.page.locator(".barlist").filter(has_text="Counted")).to_contain_text("15,255 tok")
        await expect(t.page.locator(".barlist").filter(has_text=model)).to_be_visible()
        entries = t.page.get_by_role("region", name="Ledger entries")
        await expect(entries.get_by_role("row")).to_have_count(26)  # header + first page
        await expect(entries.get_by_role("cell", name=model).first).to_be_visible()
        await t.page.get_by_role("button", name="Show older entries").click()
        await expect(t.page.get_by_test_id("entries-shown")).to_have_text("30 shown")
        await expect(t.page.get_by_text("That is all.")).to_be_visible()
        await t.shot("usage-desktop")
        await assert_contrast(t)
        t.assert_clean()


async def test_partner_live_usage_total_moves_without_a_reload_as_the_ledger_writes(
    browser, platform, people, ledger
):
    tenant, _ = await resold_tenant(people["partner"], name=f"Live {uuid.uuid4().hex[:5]}")
    model = await priced_model()
    async with tab(browser, platform.base_url) as t:
        await sign_in(t, people["partner"].email)
        await t.go("/partner/live")
        await expect(t.page.locator("[data-socket=open]")).to_be_visible()
        total = t.page.get_by_test_id("live-total")
        await expect(total).to_have_text("$0.000000")
        await t.page.evaluate("window.__sameDocument = true")

        await ledger.publish(tenant["id"], model, 1000, 10)

        async def cost() -> str:
            return await tenant_cost(tenant["id"])

        first = await eventually(cost, lambda c: c != "$0.000000", "the first entries")
        await expect(total).to_have_text(first)
        row = t.page.get_by_role("row").filter(has_text=tenant["name"])
        await expect(row).to_contain_text("1,010")

        await ledger.publish(tenant["id"], model, 2000, 20)
        second = await eventually(cost, lambda c: c != first, "the second entries")
        await expect(total).to_have_text(second)
        await expect(row).to_contain_text("3,030")
        assert await t.page.evaluate("window.__sameDocument === true"), "the page reloaded"
        points = await t.page.locator(".sparkline polyline").get_attribute("points")
        assert points and len({p.split(",")[1] for p in points.split()}) > 1, "the sparkline stayed flat"
        await t.shot("partner-live-desktop")
        t.assert_clean()


async def test_admin_retries_a_dead_letter_and_it_is_published_again(
    browser, platform, people, expect_dead_letters
):
    marker = uuid.uuid4().hex
    expect_dead_letters(body_has(marker), 1, why="stored by the test for the admin to retry")
    connection = await aio_pika.connect_robust(load_settings().broker.url)
    async with connection:
        channel = await connection.channel()
        inbox = await channel.declare_queue(exclusive=True)
        async with db.scope(system=True):
            await DeadLetter.insert(
                DeadLetter(
                    reason=f"unknown agent ({marker})",
                    routing_key=inbox.name,
                    body=f'{{"marker": "{marker}"}}'.encode(),
                    content_type="application/json",
                )
            )
        async with tab(browser, platform.base_url) as t:
            await sign_in(t, people["root"].email)
            await t.go("/admin/dead-letters")
            row = t.page.get_by_role("row").filter(has_text=marker)
            await expect(row).to_contain_text("never")
            await row.get_by_role("button", name="Retry").click()
            await expect(t.page.get_by_text("(retry 1)")).to_be_visible()
            await expect(row).to_contain_text("1×")
            await t.shot("admin-dead-letters-retried-desktop")
            t.assert_clean()
        message = await inbox.get(timeout=10, fail=False)
        assert message is not None and marker.encode() in message.body, "the retried message never arrived"
        await message.ack()
