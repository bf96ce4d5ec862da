"""Stored XSS: agent names, user messages and agent replies carrying HTML/JS payloads are shown
as text in the console (Debian's Chromium) and execute nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, expect

from helpers.api import PASSWORD, register
from helpers.browser import tab
from helpers.chat_fixtures import fake_agent
from helpers.fake_llm import FakeLLM
from helpers.platform import Platform, running_platform

# Each payload sets window.__pwned when it runs; the page must never get that flag.
IMG = '<img src=x onerror="window.__pwned=1">'
SCRIPT = "<script>window.__pwned=2</script>"
SVG = '<svg onload="window.__pwned=3"></svg>'
LINK = "[click me](javascript:window.__pwned=4)"


@pytest.fixture(scope="module")
async def platform(database: str, fake_llm: FakeLLM) -> AsyncIterator[Platform]:
    async with running_platform(fake_llm, 1) as running:
        yield running


async def test_payloads_in_agent_names_and_chat_render_as_text_and_never_run(
    browser: Browser, platform: Platform
) -> None:
    """The agents list and editor show the payload agent name literally; a user message with
    <img onerror>/<script>/<svg onload> shows as literal text; an agent reply (markdown) with the
    same payloads and a javascript: link renders without any executable element or URL; and
    window.__pwned stays undefined throughout."""
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        admin = await register(client)
        name = f"Evil {IMG}{SCRIPT}"
        bot = await fake_agent(admin, name=name)
    async with tab(browser, platform.base_url) as t:
        page = t.page
        await t.go("/login")
        await page.get_by_label("Email").fill(admin.email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(lambda url: "/login" not in url)

        await t.go("/console/agents")
        await expect(page.get_by_text(name, exact=True).first).to_be_visible()
        await t.go(f"/console/agents/{bot['id']}")
        await expect(page.get_by_role("heading", level=1)).to_have_text(name)

        await t.go(f"/chat?agent={bot['id']}")
        await page.get_by_role("button", name="Start chat").click()
        await expect(page.locator("[data-socket=open]")).to_be_visible()
        user_text = f"hi {IMG} {SCRIPT} {SVG}"
        reply_payload = f"{IMG} {SCRIPT} {SVG} {LINK} **bold**"
        await page.get_by_label("Message").fill(f"{user_text} [[json:{reply_payload}]]")
        await page.get_by_role("button", name="Send").click()
        reply = page.locator("article.msg-assistant").last
        await expect(reply).to_have_attribute("data-status", "completed")
        await expect(page.locator("article.msg-user").last).to_contain_text(f"{IMG} {SCRIPT} {SVG}")
        await expect(reply.locator("strong")).to_have_text("bold")  # markdown did render
        await page.wait_for_load_state("networkidle")  # any <img src=x> has failed by now

        dangerous = await page.evaluate(
            """() => {
              const bad = [];
              for (const el of document.querySelectorAll('main *')) {
                if (['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED'].includes(el.tagName)) bad.push(el.outerHTML);
                for (const a of el.attributes) {
                  if (a.name.startsWith('on')) bad.push(el.tagName + ' ' + a.name);
                  if (/^\\s*javascript:/i.test(a.value)) bad.push(el.tagName + ' ' + a.name + '=' + a.value);
                }
              }
              return bad;
            }"""
        )
        assert not dangerous, f"executable markup reached the page: {dangerous}"
        assert await page.evaluate("() => window.__pwned") is None, "an injected payload ran"
        links = reply.get_by_text("click me")
        if await links.count():
            await links.first.click()
        assert await page.evaluate("() => window.__pwned") is None, "the javascript: link ran"
