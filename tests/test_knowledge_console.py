"""The Knowledge page in Chromium: upload by file picker and by drag-and-drop with progress,
status and chunk preview, the test search box, the agent editor's document picker, and a chat
reply whose citations link back to the cited chunk; at desktop width and at 375 px."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import expect
from test_spa_browser import sign_in

from helpers.api import register
from helpers.browser import PHONE, assert_contrast, no_horizontal_scroll, tab
from helpers.chat_fixtures import fake_agent
from helpers.fake_llm import FakeLLM
from helpers.platform import Platform, running_platform

DROP = """
([name, text]) => {
  const data = new DataTransfer();
  data.items.add(new File([text], name, { type: "text/plain" }));
  const drop = new DragEvent("drop", { dataTransfer: data, bubbles: true });
  document.querySelector(".dropzone").dispatchEvent(drop);
}
"""


@pytest.fixture(scope="module", name="platform")
async def knowledge_platform(database: str, fake_llm: FakeLLM) -> AsyncIterator[Platform]:
    """Web (serving the built console) plus one actors process that ingests documents."""
    async with running_platform(fake_llm, 1) as running:
        yield running


async def test_a_tenant_admin_uploads_searches_attaches_and_follows_a_citation(
    browser, platform: Platform
) -> None:
    word = "zq" + uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        admin = await register(client, "Knowledge console")
        helper = await fake_agent(admin, name="Helper")
    async with tab(browser, platform.base_url) as t:
        await sign_in(t, admin.email)
        await t.page.get_by_role("link", name="Knowledge").click()
        await expect(t.page.get_by_role("heading", level=1)).to_have_text("Knowledge")
        await t.page.get_by_label("Choose files to upload").set_input_files(
            {
                "name": "faq.md",
                "mimeType": "text/markdown",
                "buffer": f"# Refunds\n\nThe refund window is {word}.".encode(),
            }
        )
        uploads = t.page.get_by_role("list", name="Uploads")
        await expect(uploads.get_by_text("uploaded")).to_be_visible()
        await t.page.evaluate(DROP, ["dropped.txt", f"Dropped file about parking {word}."])
        await expect(uploads.get_by_text("uploaded")).to_have_count(2)
        documents = t.page.get_by_role("table", name="Documents")
        for name in ("faq.md", "dropped.txt"):
            row = documents.get_by_role("row").filter(has_text=name)
            await expect(row).to_contain_text("completed", timeout=30_000)
        await documents.get_by_role("button", name="faq.md").click()
        await expect(t.page.locator("blockquote.chunk").first).to_contain_text(f"The refund window is {word}")
        await t.page.get_by_label("Question").fill(f"refund window {word}")
        await t.page.get_by_role("button", name="Search").click()
        await expect(t.page.get_by_role("list", name="Search results").locator("li").first).to_contain_text(
            "faq.md"
        )
        await assert_contrast(t)
        await t.shot("knowledge-desktop")
        t.assert_clean()

        await t.go(f"/console/agents/{helper['id']}")
        picker = t.page.get_by_role("list", name="Documents this agent may search")
        await picker.get_by_label("faq.md").check()
        await t.page.get_by_role("button", name="Save documents").click()
        await expect(t.page.get_by_text("Documents saved.")).to_be_visible()

        await t.page.get_by_role("link", name="Test chat").click()
        await t.page.get_by_role("button", name="Start chat").click()
        await expect(t.page.locator("[data-socket=open]")).to_be_visible()
        await t.page.get_by_label("Message").fill(
            f"How long is the refund window {word}? [[tool:knowledge_search]]"
        )
        await t.page.get_by_role("button", name="Send").click()
        reply = t.page.locator("article.msg-assistant").last
        await expect(reply).to_have_attribute("data-status", "completed")
        await expect(reply.locator(".tool-activity")).to_contain_text(
            "Searched the documents: 1 passage(s) from faq.md"
        )
        source = reply.get_by_role("navigation", name="Sources").get_by_role("link", name="faq.md #0")
        await expect(source).to_be_visible()
        await t.shot("knowledge-chat-citation")
        await source.click()
        await expect(t.page.get_by_role("heading", level=1)).to_have_text("Knowledge")
        await expect(t.page.locator("blockquote.chunk-cited")).to_contain_text(word)
        t.assert_clean()

    async with tab(browser, platform.base_url, viewport=PHONE) as t:
        await sign_in(t, admin.email)
        await t.go("/console/knowledge")
        await expect(t.page.get_by_role("table", name="Documents").get_by_text("faq.md")).to_be_visible()
        await no_horizontal_scroll(t)
        await assert_contrast(t)
        await t.shot("knowledge-phone")
        t.assert_clean()
