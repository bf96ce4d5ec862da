"""A real browser for the console tests: Debian's Chromium driven by Playwright (never a
downloaded browser), pages that record console errors, screenshots, and a WCAG contrast check.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "spa" / "dist"
AXE = ROOT / "spa" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "build" / "test-artifacts" / "spa"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 375, "height": 740}


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless."""
    assert shutil.which(CHROMIUM), "Chromium is missing: `apt-get install -y chromium` (make test does it)"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Tab:
    """A page plus what went wrong in it (uncaught errors and console.error calls)."""

    page: Page
    base: str
    errors: list[str] = field(default_factory=list)

    async def go(self, path: str) -> None:
        await self.page.goto(self.base + path)

    async def shot(self, name: str) -> None:
        """Save a screenshot under build/test-artifacts/spa/ for a reviewer."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def assert_clean(self) -> None:
        assert not self.errors, "console errors:\n" + "\n".join(self.errors)


def _on_console(tab: Tab, msg: ConsoleMessage) -> None:
    # The browser logs every non-2xx fetch as "Failed to load resource"; those are expected
    # answers here (401 from the silent refresh when signed out, 404 "not available yet"), and
    # a refused WebSocket handshake likewise (a live stream this server does not offer yet).
    expected = ("Failed to load resource", "Error during WebSocket handshake")
    if msg.type == "error" and not any(e in msg.text for e in expected):
        tab.errors.append(msg.text)


@asynccontextmanager
async def tab(browser: Browser, base: str, viewport: dict | None = None, **context) -> AsyncIterator[Tab]:
    """A fresh browser context (own cookies) with one page."""
    ctx = await browser.new_context(viewport=viewport or DESKTOP, **context)
    page = await ctx.new_page()
    page.set_default_timeout(15_000)
    t = Tab(page, base)
    page.on("console", lambda m: _on_console(t, m))
    page.on("pageerror", lambda e: t.errors.append(f"uncaught: {e}"))
    try:
        yield t
    finally:
        await ctx.close()


# Wraps the page's WebSocket so a test can see what the console sends (`window.__wsSent`) and
# drop a connection the way a network blip would (`window.__wsDrop()`).
WEBSOCKET_PROBE = """
(() => {
  const Native = window.WebSocket;
  window.__wsSent = [];
  window.__wsOpen = [];
  class Probe extends Native {
    constructor(...args) {
      super(...args);
      window.__wsOpen.push(this);
      this.addEventListener('close', () => { window.__wsOpen = window.__wsOpen.filter((s) => s !== this); });
    }
    send(data) {
      window.__wsSent.push(String(data));
      return super.send(data);
    }
  }
  window.WebSocket = Probe;
  window.__wsDrop = () => window.__wsOpen.splice(0).forEach((s) => s.close(4000, 'dropped by a test'));
})();
"""


async def record_websockets(t: Tab) -> None:
    """Install WEBSOCKET_PROBE in every page the tab opens from now on."""
    await t.page.add_init_script(WEBSOCKET_PROBE)


async def sent_frames(t: Tab) -> list[dict]:
    """JSON frames the console sent over its WebSockets (needs `record_websockets`)."""
    return await t.page.evaluate("() => window.__wsSent.map((f) => JSON.parse(f))")


CONTRAST_JS = (ROOT / "spa" / "tests" / "contrast.js").read_text()


async def assert_contrast(t: Tab) -> int:
    """Both checks: axe-core's color-contrast rule and the glass-aware one above."""
    # Evaluated, not a <script> tag: the console's CSP (script-src 'self') refuses inline tags.
    await t.page.evaluate(AXE.read_text())
    axe = await t.page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['color-contrast']})).violations"
        ".flatMap(v => v.nodes.map(n => n.failureSummary + ' @ ' + n.target.join(' ')))"
    )
    assert not axe, "axe-core contrast violations:\n" + "\n".join(axe)
    ours = await t.page.evaluate(CONTRAST_JS)
    assert not ours["failures"], "text below WCAG AA contrast:\n" + "\n".join(ours["failures"])
    return ours["checked"]


async def no_horizontal_scroll(t: Tab) -> None:
    width = await t.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"page scrolls sideways at {width[1]} px: content is {width[0]} px wide"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium for one test module. The console must be built (`make install` does
    it): a missing build fails loudly rather than skipping."""
    assert (DIST / "index.html").exists(), "spa/dist is not built: run `make install` (npm run build)"
    async with chromium() as b:
        yield b
