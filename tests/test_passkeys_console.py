"""Passkeys in Chromium with its virtual authenticator (CDP `WebAuthn` domain): one is added
on the profile page, then a sign-in asks for it after the password and lands signed in; the
same screens at 375 px.

The console is opened at http://localhost:<port>, not 127.0.0.1: browsers accept no IP
address as a WebAuthn RP id, and the server's RP id for a loopback public URL is
`localhost` (web/auth/webauthn.py, docs/identity.md "Passkeys")."""

from __future__ import annotations

from playwright.async_api import CDPSession, expect
from test_spa_browser import sign_in

from helpers.api import PASSWORD, member, register
from helpers.browser import PHONE, Tab, assert_contrast, no_horizontal_scroll, tab


async def _virtual_authenticator(t: Tab) -> tuple[CDPSession, str]:
    """A platform authenticator (CTAP2, internal, resident keys, user verified) in this page."""
    cdp = await t.page.context.new_cdp_session(t.page)
    await cdp.send("WebAuthn.enable")
    added = await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def _localhost(server: str) -> str:
    return server.replace("127.0.0.1", "localhost")


async def test_add_a_passkey_then_sign_in_with_it(browser, client, server):
    admin = await register(client)
    base = _localhost(server)
    async with tab(browser, base) as t:
        cdp, authenticator = await _virtual_authenticator(t)
        await sign_in(t, admin.email)
        await t.go("/profile")
        card = t.page.locator(".card", has=t.page.get_by_role("heading", name="Passkeys"))
        await expect(card.get_by_text("none", exact=True)).to_be_visible()
        await t.page.get_by_label("Passkey name").fill("Work laptop")
        await t.page.get_by_role("button", name="Add a passkey").click()
        passkeys = t.page.get_by_role("list", name="Your passkeys")
        await expect(passkeys.get_by_text("Work laptop")).to_be_visible()
        await expect(passkeys.get_by_text("not used yet")).to_be_visible()
        stored = await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
        assert len(stored["credentials"]) == 1 and stored["credentials"][0]["rpId"] == "localhost"
        await t.shot("passkeys-added")
        await assert_contrast(t)

        await t.page.get_by_role("button", name="Sign out").click()
        await t.page.wait_for_url(lambda url: "/login" in url)
        await t.page.get_by_label("Email").fill(admin.email)
        await t.page.get_by_label("Password").fill(PASSWORD)
        await t.page.get_by_role("button", name="Sign in").click()
        use = t.page.get_by_role("button", name="Use a passkey")
        await expect(use).to_be_visible()
        await expect(t.page.get_by_label("Authentication code")).to_have_count(0)  # no TOTP here
        await t.shot("passkey-challenge")
        await use.click()
        await t.page.wait_for_url(lambda url: "/login" not in url)
        await expect(t.page.locator("main h1")).to_be_visible()
        await t.go("/profile")
        await expect(t.page.get_by_text(f"Signed in as {admin.email}")).to_be_visible()
        await expect(passkeys.get_by_text("last used")).to_be_visible()

        # Removed: the next sign-in asks for no second step.
        await t.page.get_by_role("button", name="Remove passkey Work laptop").click()
        await expect(t.page.get_by_role("list", name="Your passkeys")).to_have_count(0)
        t.assert_clean()


async def test_passkey_screens_fit_a_phone(browser, client, server):
    admin = await register(client)
    async with tab(browser, _localhost(server), viewport=PHONE) as t:
        await _virtual_authenticator(t)
        await sign_in(t, admin.email)
        await t.go("/profile")
        await t.page.get_by_label("Passkey name").fill("Phone")
        await t.page.get_by_role("button", name="Add a passkey").click()
        await expect(t.page.get_by_role("list", name="Your passkeys").get_by_text("Phone")).to_be_visible()
        await no_horizontal_scroll(t)
        menu = t.page.get_by_role("button", name="Menu")
        if await menu.is_visible():
            await menu.click()
        await t.page.get_by_role("button", name="Sign out").click()
        await t.page.wait_for_url(lambda url: "/login" in url)
        await t.page.get_by_label("Email").fill(admin.email)
        await t.page.get_by_label("Password").fill(PASSWORD)
        await t.page.get_by_role("button", name="Sign in").click()
        await expect(t.page.get_by_role("button", name="Use a passkey")).to_be_visible()
        await no_horizontal_scroll(t)
        await t.shot("passkey-challenge-phone")
        t.assert_clean()


async def test_a_workspace_requiring_a_second_factor_takes_a_passkey_at_sign_in(browser, client, server):
    admin = await register(client)
    user = await member(admin)
    assert (await admin.put("/api/v1/tenant/security", json={"require_mfa": True})).status_code == 200
    async with tab(browser, _localhost(server), viewport=PHONE) as t:
        cdp, authenticator = await _virtual_authenticator(t)
        for _ in range(2):  # set up at the first sign-in, asked for at the second
            await t.go("/login")
            await t.page.get_by_label("Email").fill(user.email)
            await t.page.get_by_label("Password").fill(PASSWORD)
            await t.page.get_by_role("button", name="Sign in").click()
            use = t.page.get_by_role("button", name="Use a passkey")
            add = t.page.get_by_role("button", name="Add a passkey instead")
            await expect(use.or_(add)).to_be_visible()
            if await add.is_visible():
                await expect(t.page.get_by_text("requires a second factor")).to_be_visible()
                await expect(t.page.get_by_role("button", name="Set up an authenticator app")).to_be_visible()
                await no_horizontal_scroll(t)
                await t.shot("mfa-required-passkey")
                await add.click()
            else:
                await use.click()
            await t.page.wait_for_url(lambda url: "/login" not in url)
            await expect(t.page.locator("main h1")).to_be_visible()
            await t.page.context.clear_cookies()
            await t.page.evaluate("window.localStorage.clear(); window.sessionStorage.clear()")
        stored = await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
        assert len(stored["credentials"]) == 1
        listed = await client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
        assert listed.json()["factors"] == ["passkey"]
        t.assert_clean()
