"""The identity screens in Chromium: sign-in with an OpenID provider (the full code flow
against node-oidc-provider), two-step sign-in set up and used, a password reset from the
mail, an invitation accepted, the app admin's provider settings, at desktop and 375 px."""

from __future__ import annotations

import time
import uuid

import pyotp
from playwright.async_api import expect
from test_identity_oidc import providers  # noqa: F401 (the module fixture that configures both)
from test_spa_browser import sign_in

from helpers.api import PASSWORD, app_admin, email, register
from helpers.browser import PHONE, Tab, assert_contrast, no_horizontal_scroll, tab
from helpers.identity import mailed_link
from helpers.oidc import OidcWorld


async def _provider_login(t: Tab, login: str) -> None:
    """The provider's own pages (node-oidc-provider's): sign in, then consent."""
    await t.page.locator("input[name=login]").fill(login)
    await t.page.locator("input[name=password]").fill("anything")
    await t.page.get_by_role("button", name="Sign-in").click()
    await t.page.get_by_role("button", name="Continue").click()


async def test_sign_in_with_google_runs_the_whole_code_flow(browser, providers: OidcWorld):  # noqa: F811
    person = email("chromium-oidc")
    async with tab(browser, providers.base) as t:
        await t.go("/login")
        await expect(t.page.get_by_role("link", name="Sign in with Microsoft")).to_be_visible()
        await t.shot("login-with-providers")
        await assert_contrast(t)
        await t.page.get_by_role("link", name="Sign in with Google").click()
        await t.page.wait_for_url(lambda url: url.startswith(providers.issuers["google"].issuer))
        await _provider_login(t, person)
        await t.page.wait_for_url(lambda url: url.startswith(providers.base) and "/oidc/done" not in url)
        await expect(t.page.locator("main h1")).to_be_visible()
        await t.go("/profile")
        await expect(t.page.get_by_text(f"Signed in as {person}")).to_be_visible()
        await expect(t.page.get_by_text("verified", exact=True)).to_be_visible()
        t.assert_clean()
    async with tab(browser, providers.base, viewport=PHONE) as t:
        await t.go("/login")
        await expect(t.page.get_by_role("link", name="Sign in with Google")).to_be_visible()
        await no_horizontal_scroll(t)


async def test_an_existing_account_is_linked_in_the_browser_after_its_password(browser, providers: OidcWorld):  # noqa: F811
    import httpx

    async with httpx.AsyncClient(base_url=providers.base) as client:
        local = await register(client)
    async with tab(browser, providers.base) as t:
        await t.go("/login")
        await t.page.get_by_role("link", name="Sign in with Microsoft").click()
        await _provider_login(t, local.email)
        await expect(t.page.get_by_role("heading", name="Link your account")).to_be_visible()
        await t.page.get_by_label("Password").fill(PASSWORD)
        await t.page.get_by_role("button", name="Link and sign in").click()
        await t.page.wait_for_url(lambda url: "/link-account" not in url)
        await expect(t.page.locator("main h1")).to_be_visible()
        t.assert_clean()


async def test_two_step_sign_in_set_up_on_the_profile_then_asked_at_login(browser, client, server):
    admin = await register(client)
    async with tab(browser, server) as t:
        await sign_in(t, admin.email)
        await t.go("/profile")
        await expect(t.page.get_by_role("heading", name="Profile and security")).to_be_visible()
        await t.page.get_by_role("button", name="Set up").click()
        secret = await t.page.get_by_test_id("mfa-secret").inner_text()
        await expect(t.page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
        await t.shot("mfa-setup")
        await t.page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
        await t.page.get_by_role("button", name="Turn on").click()
        codes = t.page.get_by_test_id("recovery-codes")
        await expect(codes.locator("li")).to_have_count(10)
        await t.page.get_by_role("button", name="I saved them").click()
        await expect(t.page.get_by_text("Recovery codes left")).to_be_visible()
        await assert_contrast(t)
        t.assert_clean()
    async with tab(browser, server) as t:
        await t.go("/login")
        await t.page.get_by_label("Email").fill(admin.email)
        await t.page.get_by_label("Password").fill(PASSWORD)
        await t.page.get_by_role("button", name="Sign in").click()
        code = t.page.get_by_label("Authentication code")
        await code.fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
        await t.page.get_by_role("button", name="Verify").click()
        await expect(t.page.get_by_text("That code is wrong")).to_be_visible()
        await code.fill(pyotp.TOTP(secret).at(time.time() + 30))  # a step after the set-up's
        await t.page.get_by_role("button", name="Verify").click()
        await t.page.wait_for_url(lambda url: "/login" not in url)
        await expect(t.page.locator("main h1")).to_be_visible()
        t.assert_clean()


async def test_a_password_reset_from_the_mail(browser, client, server, mailbox):
    admin = await register(client)
    async with tab(browser, server, viewport=PHONE) as t:
        await t.go("/login")
        await t.page.get_by_role("link", name="Forgot your password?").click()
        await t.page.get_by_label("Email").fill(admin.email)
        await t.page.get_by_role("button", name="Send the link").click()
        await expect(t.page.get_by_text("Check your email")).to_be_visible()
        path, token = await mailed_link(mailbox, admin.email, "Reset your password")
        await t.go(f"{path}?token={token}")
        await t.page.get_by_label("New password").fill("a brand new passphrase")
        await t.page.get_by_role("button", name="Set password").click()
        await expect(t.page.get_by_text("Password changed")).to_be_visible()
        await no_horizontal_scroll(t)
        await assert_contrast(t)
        await t.go(f"{path}?token={token}")  # the link works once
        await t.page.get_by_label("New password").fill("yet another passphrase")
        await t.page.get_by_role("button", name="Set password").click()
        await expect(t.page.get_by_text("already used")).to_be_visible()
        t.assert_clean()


async def test_an_invitation_from_the_access_page_is_accepted(browser, client, server, mailbox):
    admin = await register(client, "Inviting Glass")
    invitee = email("glass-invitee")
    async with tab(browser, server) as t:
        await sign_in(t, admin.email)
        await t.page.get_by_role("link", name="Access").click()
        await expect(t.page.get_by_role("heading", level=1)).to_have_text("Access")
        await t.page.get_by_label("Email", exact=True).fill(invitee)
        await t.page.get_by_label("Role").select_option("tenant_admin")
        await t.page.get_by_role("button", name="Send invitation").click()
        table = t.page.get_by_role("table", name="Invitations")
        await expect(table.get_by_text(invitee)).to_be_visible()
        await t.page.get_by_label("Domain").fill(f"glass-{uuid.uuid4().hex[:6]}.example")
        await t.page.get_by_role("button", name="Claim").click()
        await expect(
            t.page.get_by_role("table", name="Domain claims").get_by_text("hirebuddha-verification=")
        ).to_be_visible()
        await t.shot("access-desktop")
        await assert_contrast(t)
        t.assert_clean()
    path, token = await mailed_link(mailbox, invitee, "invited to Inviting Glass")
    async with tab(browser, server, viewport=PHONE) as t:
        await t.go(f"{path}?token={token}")
        await t.page.get_by_label("Full name").fill("Ines Invitee")
        await t.page.get_by_label("Password").fill(PASSWORD)
        await t.page.get_by_role("button", name="Accept and sign in").click()
        await t.page.wait_for_url(lambda url: "/accept-invitation" not in url)
        await t.go("/console/access")
        await expect(t.page.get_by_role("table", name="Invitations").get_by_text("accepted")).to_be_visible()
        await no_horizontal_scroll(t)
        t.assert_clean()


async def test_the_app_admin_adds_a_sign_in_provider(browser, client, server):
    root = await app_admin(client)
    slug = f"corp-{uuid.uuid4().hex[:6]}"
    for viewport in (None, PHONE):
        async with tab(browser, server, viewport=viewport) as t:
            await sign_in(t, root.email)
            await t.go("/admin/identity-providers")
            if viewport is None:
                await t.page.get_by_label("Kind").select_option("oidc")
                await t.page.get_by_label("Button label").fill("Corp SSO")
                await t.page.get_by_label("Slug").fill(slug)
                await t.page.get_by_label("Issuer URL").fill(
                    "http://127.0.0.1:9"
                )  # the suite allows loopback (HB_URL_ALLOWLIST)
                await t.page.get_by_label("Client ID").fill("hirebuddha")
                await t.page.get_by_label("Client secret").fill("a-very-secret-value")
                await t.page.get_by_role("button", name="Add provider").click()
            row = t.page.get_by_role("row").filter(has_text="Corp SSO")
            await expect(row).to_contain_text(f"/api/v1/auth/oidc/{slug}/callback")
            await expect(row).not_to_contain_text("a-very-secret-value")
            if viewport:
                await no_horizontal_scroll(t)
            await assert_contrast(t)
            t.assert_clean()
