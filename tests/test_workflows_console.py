"""The workflow editor in Chromium: a tenant admin builds a 3-node workflow on the React Flow
canvas, sees the server's validation error on the node, saves it, runs it and watches the
run light up, then finds it in the run history; the editor at 375 px wide."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import expect
from test_spa_browser import sign_in

from helpers.api import register
from helpers.browser import PHONE, no_horizontal_scroll, tab
from helpers.platform import Platform, fake_reply


async def test_build_save_and_run_a_three_node_workflow(browser, platform: Platform) -> None:
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        admin = await register(client, "Console workflows")
    async with tab(browser, platform.base_url) as t:
        page = t.page
        await sign_in(t, admin.email)
        await page.get_by_role("link", name="Workflows").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Workflows")
        await page.get_by_role("link", name="New workflow").click()
        await expect(page.get_by_test_id("wf-node-input")).to_be_visible()
        await expect(page.get_by_test_id("wf-node-output")).to_be_visible()

        # A model step, not yet connected: the server names it as unreachable.
        await page.get_by_role("button", name="+ llm").click()
        llm = page.get_by_test_id("wf-node-llm")
        await expect(llm).to_be_visible()
        panel = page.get_by_role("complementary", name="Settings")
        await panel.get_by_label("Model").select_option("fake")
        await panel.get_by_label("Prompt template").fill("[[reply:6]] {input.text}")
        await page.get_by_label("Name").fill("Three steps")
        await page.get_by_role("button", name="Save").click()
        await expect(llm.get_by_role("alert")).to_contain_text("not reachable")

        # Connect input -> llm -> output (click a source handle, then a target handle).
        await page.get_by_test_id("wf-node-input").locator(".react-flow__handle-right").click()
        await llm.locator(".react-flow__handle-left").click()
        await llm.locator(".react-flow__handle-right").click()
        await page.get_by_test_id("wf-node-output").locator(".react-flow__handle-left").click()
        await page.get_by_test_id("wf-node-output").click()
        await panel.get_by_label("Output (JSON of templates)").fill('{"answer": "{llm.text}"}')
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Three steps")
        await expect(page).to_have_url(re.compile(r"/console/workflows/[0-9a-f-]{36}$"))
        await t.shot("workflow-editor-desktop")

        await page.get_by_label("Input (JSON)").fill('{"text": "hello"}')
        await page.get_by_role("button", name="Run", exact=True).click()
        await expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
        await expect(page.get_by_test_id("wf-output")).to_contain_text(fake_reply(6).strip(), timeout=30_000)
        await expect(page.get_by_test_id("wf-node-llm")).to_have_attribute("data-status", "completed")
        await expect(page.get_by_test_id("wf-stream-llm")).to_contain_text(fake_reply(6).strip())
        await t.shot("workflow-run-desktop")

        await page.get_by_role("link", name="Back to the workflow").click()
        history = page.get_by_role("table", name="Runs")
        await expect(history.get_by_text("completed")).to_be_visible()
        t.assert_clean()
    async with tab(browser, platform.base_url, viewport=PHONE) as t:
        await sign_in(t, admin.email)
        await t.go("/console/workflows")
        await t.page.get_by_role("link", name="Three steps").click()
        await expect(t.page.get_by_test_id("wf-node-llm")).to_be_visible()
        await no_horizontal_scroll(t)
        await t.shot("workflow-editor-phone")
        t.assert_clean()


async def test_a_tool_node_searches_an_agents_documents(browser, platform: Platform) -> None:
    from helpers.api import agent
    from helpers.knowledge import uploaded

    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        admin = await register(client, "Console search node")
        helper = await agent(admin)
        await uploaded(admin, "hours.md", b"# Hours\n\nThe help desk opens at nine.\n", helper["id"])
    async with tab(browser, platform.base_url) as t:
        page = t.page
        await sign_in(t, admin.email)
        await t.go("/console/workflows/new")
        await page.get_by_role("button", name="+ tool").click()
        tool = page.get_by_test_id("wf-node-tool")
        await expect(tool).to_be_visible()
        panel = page.get_by_role("complementary", name="Settings")
        await panel.get_by_label("Or a built-in tool").select_option("knowledge_search")
        await panel.get_by_label("Agent whose documents are searched (id)").fill(helper["id"])
        await panel.get_by_label("Search query").fill("When does the {input.text} open?")
        await page.get_by_test_id("wf-node-input").locator(".react-flow__handle-right").click()
        await tool.locator(".react-flow__handle-left").click()
        await tool.locator(".react-flow__handle-right").click()
        await page.get_by_test_id("wf-node-output").locator(".react-flow__handle-left").click()
        await page.get_by_test_id("wf-node-output").click()
        await panel.get_by_label("Output (JSON of templates)").fill('{"found": "{tool.text}"}')
        await page.get_by_label("Name").fill("Desk hours")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Desk hours")
        await page.get_by_label("Input (JSON)").fill('{"text": "help desk"}')
        await page.get_by_role("button", name="Run", exact=True).click()
        await expect(page.get_by_test_id("wf-output")).to_contain_text("opens at nine", timeout=30_000)
        await expect(page.get_by_test_id("wf-stream-tool")).to_contain_text("[hours.md #0]")
        t.assert_clean()
