"""Security headers on the console and the API, and a console that runs under its strict
Content-Security-Policy in Chromium with no violation while walking the main screens.
"""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect
from test_spa_browser import sign_in

from conftest import start_web
from helpers.api import app_admin
from helpers.api import register as api_register
from helpers.browser import DIST, Tab, tab
from helpers.chat_fixtures import fake_agent
from helpers.platform import Platform
from runtime.settings import get_settings
from web.security.headers import console_csp

CONSOLE_CSP = console_csp(get_settings())  # the run's web processes share these settings

# Every violation the page sees, whether or not the browser also logs it.
CSP_PROBE = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} on ${location.pathname}`));
"""


def assert_hardened(r: httpx.Response) -> None:
    assert r.headers["content-security-policy"] == CONSOLE_CSP, r.request.url
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"


async def test_console_api_and_health_answers_carry_the_security_headers(client: httpx.AsyncClient) -> None:
    asset = next((DIST / "assets").glob("*.js")).name
    for path in ("/", "/chat/deep-link", f"/assets/{asset}", "/api/v1/auth/me", "/health/live", "/nope.txt"):
        r = await client.get(path)
        assert_hardened(r)
        assert len(r.headers.get_list("x-content-type-options")) == 1, path  # replaced, not doubled
        assert "strict-transport-security" not in r.headers, "HSTS without TLS cookies locks out http"
    docs = await client.get("/schema/swagger")
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]


async def test_hsts_is_sent_when_secure_cookies_are_on(database) -> None:
    base, proc = await start_web(env={"HB_SECURE_COOKIES": "1"})
    try:
        async with httpx.AsyncClient(base_url=base) as c:
            for path in ("/", "/api/v1/auth/me", "/health/live"):
                hsts = (await c.get(path)).headers.get("strict-transport-security", "")
                assert hsts.startswith("max-age=31536000"), path
    finally:
        proc.stop()


async def csp_tab_sign_in(t: Tab, address: str) -> None:
    await t.page.add_init_script(CSP_PROBE)
    await sign_in(t, address)


async def violations(t: Tab) -> list[str]:
    return await t.page.evaluate("() => window.__csp")


async def test_the_console_runs_under_its_policy_with_no_violation(browser: Browser, platform: Platform):
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        admin = await api_register(client)
        await fake_agent(admin, name="Under policy")
        root = await app_admin(client)
    async with tab(browser, platform.base_url) as t:
        await csp_tab_sign_in(t, admin.email)
        await t.go("/chat")
        await t.page.get_by_role("button", name="Start chat").click()
        await expect(t.page.locator("[data-socket=open]")).to_be_visible()  # WebSocket: connect-src
        await t.page.get_by_label("Message").fill("[[reply:30]]")
        await t.page.get_by_role("button", name="Send").click()
        reply = t.page.locator("article.msg-assistant").last
        await expect(reply).to_have_attribute("data-status", "completed")  # markdown rendered
        for screen in ("agents", "users", "api-keys", "usage", "executions", "budget", "webhooks"):
            await t.go(f"/console/{screen}")
            await expect(t.page.locator("main h1, main h2").first).to_be_visible()
        assert await violations(t) == []
        t.assert_clean()
    async with tab(browser, platform.base_url) as t:
        await csp_tab_sign_in(t, root.email)
        for screen in ("partners", "tenants", "rates", "models", "providers", "dead-letters", "health"):
            await t.go(f"/admin/{screen}")
            await expect(t.page.locator("main h1").first).to_be_visible()
        assert await violations(t) == []
        t.assert_clean()
        # The probe does see a violation: an injected inline script and a foreign image.
        await t.page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
            " document.body.append(s); const i = new Image(); i.src = 'https://example.invalid/x.png';"
            " document.body.append(i); }"
        )
        await t.page.wait_for_function("() => window.__csp.length >= 2")
        assert await t.page.evaluate("() => window.__ran") is None
