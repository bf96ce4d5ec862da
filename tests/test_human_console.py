"""Human in the loop in Chromium: a support person opens a conversation from the Inbox,
takes it over, talks with the end user (whose chat says a person has joined), hands back;
at desktop width and at 375 px. docs/human-in-the-loop.md."""

from __future__ import annotations

from playwright.async_api import expect
from test_spa_browser import sign_in

from helpers.api import agent, member, register
from helpers.browser import PHONE, assert_contrast, no_horizontal_scroll, tab


async def test_a_support_person_takes_over_talks_and_hands_back(browser, client, server):
    admin = await register(client, "Console support")
    user, support = await member(admin), await member(admin, "support")
    bot = await agent(admin, name="Helpdesk")
    r = await user.post("/api/v1/sessions", json={"agent_id": bot["id"]})
    session = r.json()["id"]
    async with tab(browser, server, viewport=PHONE) as end, tab(browser, server) as person:
        await sign_in(end, user.email)
        await end.go(f"/chat/{session}")
        await expect(end.page.get_by_role("status").filter(has_text="Live")).to_be_visible()

        await sign_in(person, support.email)
        await person.page.get_by_role("link", name="Inbox").click()
        await expect(person.page.get_by_role("heading", level=1)).to_have_text("Inbox")
        await expect(person.page.get_by_text("Nothing needs a person right now.")).to_be_visible()
        await person.go(f"/inbox/{session}")
        await person.page.get_by_role("button", name="Take over").click()
        await expect(person.page.get_by_test_id("person-banner")).to_contain_text("You are answering")
        await expect(
            person.page.get_by_role("list", name="Inbox").get_by_text("with Uma User")
        ).to_be_visible()

        banner = end.page.get_by_test_id("person-banner")
        await expect(banner).to_contain_text("A person has joined")
        await expect(banner).to_contain_text("Uma User")

        await person.page.get_by_label("Message").fill("Hello, this is Uma from support.")
        await person.page.get_by_role("button", name="Send").click()
        await expect(
            end.page.locator(".msg-human").filter(has_text="Hello, this is Uma from support.")
        ).to_be_visible()

        await end.page.get_by_label("Message").fill("Thanks Uma, my order is late.")
        await end.page.get_by_role("button", name="Send").click()
        await expect(person.page.locator(".msg-user").filter(has_text="my order is late")).to_be_visible()
        await no_horizontal_scroll(end)
        await assert_contrast(end)
        await end.shot("hitl-user-phone")
        await person.shot("hitl-support-desktop")

        await person.page.get_by_role("button", name="Hand back to the agent").click()
        await expect(banner).to_have_count(0)
        await expect(person.page.get_by_role("button", name="Take over")).to_be_visible()
        end.assert_clean()
        person.assert_clean()

    assert (await support.post(f"/api/v1/sessions/{session}/takeover")).status_code == 200
    async with tab(browser, server, viewport=PHONE) as t:
        await sign_in(t, support.email)
        await t.go("/inbox")
        await expect(t.page.get_by_role("list", name="Inbox").get_by_text("with Uma User")).to_be_visible()
        await t.page.get_by_role("list", name="Inbox").get_by_role("link").first.click()
        await expect(t.page.get_by_role("button", name="Hand back to the agent")).to_be_visible()
        await no_horizontal_scroll(t)
        await assert_contrast(t)
        await t.shot("hitl-inbox-phone")
        t.assert_clean()
