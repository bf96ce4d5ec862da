"""The embeddable chat widget: a tenant admin creates it; a page on an allowed origin loads
one script and chats (streaming) as an anonymous visitor; a foreign origin is refused; the
visitor's rate and the tenant's history apply (docs/channels.md "Web widget")."""

from __future__ import annotations

import gzip
import json
import uuid
from contextlib import asynccontextmanager
from typing import Any

import httpx
import websockets
from litestar import Response, get
from playwright.async_api import expect

from helpers.browser import PHONE, tab
from helpers.channel_fakes import serve, widget_page
from helpers.chat_fixtures import fake_agent, priced_fake_agent
from helpers.platform import ChatClient, delta_text, fake_reply
from runtime import db

ALLOWED = "https://shop.example"


async def make_widget(admin, agent_id: str, **overrides: Any) -> dict:
    body = {
        "agent_id": agent_id,
        "name": "Shop help",
        "allowed_origins": [ALLOWED],
        "greeting": "Hi! Ask me.",
    }
    body.update(overrides)
    r = await admin.post("/api/v1/widgets", json=body)
    assert r.status_code == 201, r.text
    return r.json()


@asynccontextmanager
async def visitor_socket(platform, key: str, origin: str | None, token: str | None = None):
    headers = {"Origin": origin} if origin else {}
    url = f"{platform.ws_base}/widgets/{key}/ws"
    async with websockets.connect(url, additional_headers=headers) as ws:
        client = ChatClient(ws)
        await client.send({"type": "visit", "visitor": token})
        yield client


async def test_a_visitor_on_an_allowed_origin_chats_and_the_tenant_sees_the_conversation(platform, admin):
    agent = await fake_agent(admin)
    widget = await make_widget(admin, agent["id"])
    assert widget["public_key"].startswith("wk_")
    async with visitor_socket(platform, widget["public_key"], ALLOWED) as visitor:
        hello = await visitor.recv()
        assert hello["type"] == "visitor" and hello["messages"] == [], hello
        assert (await visitor.recv()) == {"type": "ready", "session_id": hello["session_id"]}
        execution = await visitor.message("[[reply:12]]")
        final = await visitor.reply(execution)
        seqs, text = delta_text(visitor.of(execution))
        assert final["type"] == "execution.completed" and text == final["text"] == fake_reply(12)
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 1  # streamed, in order
    # The conversation is in the tenant's history, without a user, titled by the widget.
    sessions = (await admin.get("/api/v1/sessions")).json()
    mine = [s for s in sessions if s["id"] == hello["session_id"]]
    assert mine and mine[0]["user_id"] is None and mine[0]["title"].startswith("Shop help · visitor")
    messages = (await admin.get(f"/api/v1/sessions/{hello['session_id']}/messages")).json()
    assert [m["role"] for m in messages] == ["user", "assistant"]
    # The visitor comes back with its token: same session, the conversation so far.
    async with visitor_socket(platform, widget["public_key"], ALLOWED, hello["token"]) as back:
        again = await back.recv()
        assert again["session_id"] == hello["session_id"]
        assert [m["content"] for m in again["messages"]] == ["[[reply:12]]", fake_reply(12)]
    # A forged token (another session) is a new visitor, never someone else's conversation.
    visitor_hex, _, mac = hello["token"].split(".")
    forged = f"{visitor_hex}.{uuid.uuid4().hex}.{mac}"
    async with visitor_socket(platform, widget["public_key"], ALLOWED, forged) as other:
        fresh = await other.recv()
        assert fresh["session_id"] != hello["session_id"] and fresh["messages"] == []


async def test_a_foreign_origin_is_refused_on_the_config_and_the_socket(platform, admin):
    agent = await fake_agent(admin)
    key = (await make_widget(admin, agent["id"]))["public_key"]
    async with httpx.AsyncClient(base_url=platform.base_url) as client:
        ok = await client.get(f"/api/v1/widgets/{key}/config", headers={"Origin": ALLOWED})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ALLOWED
        assert ok.json()["greeting"] == "Hi! Ask me." and ok.json()["brand"]["product_name"] == "Hirebuddha"
        foreign = await client.get(
            f"/api/v1/widgets/{key}/config", headers={"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403 and foreign.json()["code"] == "widget_origin_refused"
        assert "access-control-allow-origin" not in foreign.headers
        unknown = await client.get("/api/v1/widgets/wk_nope/config", headers={"Origin": ALLOWED})
        assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    for origin in ("https://evil.example", None):
        async with websockets.connect(
            f"{platform.ws_base}/widgets/{key}/ws", additional_headers={"Origin": origin} if origin else {}
        ) as ws:
            frame = json.loads(await ws.recv())
            assert frame["type"] == "error" and frame["code"] == "widget_origin_refused"
            await ws.wait_closed()
            assert ws.close_code == 4403


async def test_visitor_rate_and_bad_colours_are_refused_with_codes(platform, admin):
    agent = await fake_agent(admin)
    r = await admin.post(
        "/api/v1/widgets",
        json={"agent_id": agent["id"], "name": "x", "allowed_origins": [ALLOWED], "primary_color": "#ffff00"},
    )
    assert r.status_code == 422 and r.json()["code"] == "brand_contrast", r.text
    assert "WCAG AA" in r.json()["detail"]
    widget = await make_widget(admin, agent["id"], visitor_rate_per_min=2)
    async with visitor_socket(platform, widget["public_key"], ALLOWED) as visitor:
        await visitor.until("ready")
        for _ in range(2):
            await visitor.reply(await visitor.message("[[reply:2]]"))
        await visitor.send({"type": "message", "content": "one more", "client_id": "c3"})
        refused = await visitor.until("error")
        assert refused["code"] == "visitor_rate_limited"
        await visitor.send({"type": "ping"})
        assert (await visitor.until("pong"))["type"] == "pong"  # the socket stays open


async def test_the_tenants_budget_applies_to_widget_visitors(platform, admin):
    agent = await priced_fake_agent(admin)  # priced: a call's hold is above zero
    widget = await make_widget(admin, agent["id"])
    assert (await admin.put("/api/v1/tenant/budget", json={"monthly_cap": "0"})).status_code == 200
    async with visitor_socket(platform, widget["public_key"], ALLOWED) as visitor:
        await visitor.until("ready")
        await visitor.send({"type": "message", "content": "hello", "client_id": "c1"})
        refused = await visitor.until("error")
        assert refused["code"] == "tenant_cap_reached", refused
    assert (await admin.put("/api/v1/tenant/budget", json={"monthly_cap": None})).status_code == 200


async def test_the_widget_script_is_small_and_served_for_other_origins(platform):
    async with httpx.AsyncClient(base_url=platform.base_url) as client:
        r = await client.get("/widget.js", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "max-age" in r.headers["cache-control"]
    packed = len(gzip.compress(r.content))
    print(f"\nwidget load size: {len(r.content)} bytes uncompressed, {packed} bytes gzipped")
    assert len(r.content) < 16_384


# Records the types of the frames each page's WebSockets receive (`window.__wsTypes`).
RECEIVED_PROBE = """
(() => {
  const Native = window.WebSocket;
  window.__wsTypes = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => window.__wsTypes.push(JSON.parse(e.data).type));
    }
  };
})();
"""


async def test_the_widget_chats_in_chromium_on_an_allowed_origin_and_not_on_a_foreign_one(
    browser, platform, admin
):
    agent = await fake_agent(admin)
    page_html: dict[str, str] = {}

    @get("/", media_type="text/html")
    async def shop() -> Response[str]:
        # A strict host page: no inline script or style; it names the platform for the script
        # and its socket, nothing else (docs/channels.md "Embedding on a page with a CSP").
        web, socket = platform.base_url, platform.ws_base.removesuffix("/api/v1")
        csp = f"default-src 'self'; script-src {web}; connect-src {web} {socket}; style-src 'self'"
        return Response(page_html["html"], headers={"Content-Security-Policy": csp})

    async with serve(shop) as site:
        widget = await make_widget(admin, agent["id"], allowed_origins=[site], primary_color="#1d4ed8")
        page_html["html"] = widget_page(f"{platform.base_url}/widget.js", widget["public_key"])
        for viewport in (None, PHONE):
            async with tab(browser, site, viewport=viewport) as t:
                await t.page.add_init_script(RECEIVED_PROBE)
                await t.go("/")
                await t.page.get_by_role("button", name="Open chat").click()
                log = t.page.get_by_role("log", name="Conversation")
                await expect(log).to_contain_text("Hi! Ask me.")
                await t.page.get_by_label("Message").fill("[[reply:30]]")
                await expect(t.page.get_by_role("button", name="Send")).to_be_enabled()
                await t.page.get_by_role("button", name="Send").click()
                await expect(log).to_contain_text(fake_reply(30).strip())
                bubble = t.page.get_by_role("button", name="Open chat")
                colour = await bubble.evaluate("(b) => getComputedStyle(b).backgroundColor")
                assert colour == "rgb(29, 78, 216)", colour  # styled under the host's CSP
                types = await t.page.evaluate("() => window.__wsTypes")
                assert types[:2] == ["visitor", "ready"] and types.count("delta") > 1, types
                await t.shot("widget-phone" if viewport else "widget-desktop")
                t.assert_clean()
        # The same page from another origin (localhost is not 127.0.0.1 to a browser): no widget.
        foreign = site.replace("127.0.0.1", "localhost")
        async with tab(browser, foreign) as t:
            async with t.page.expect_console_message(lambda m: "Hirebuddha widget unavailable" in m.text):
                await t.go("/")
            await expect(t.page.get_by_role("heading", name="Acme shop")).to_be_visible()
            assert await t.page.get_by_role("button", name="Open chat").count() == 0


async def test_a_suspended_tenants_widget_still_loads_and_each_message_is_refused_tenant_suspended(
    platform, admin
):
    agent = await fake_agent(admin)
    widget = await make_widget(admin, agent["id"])
    async with db.scope(system=True):  # what dunning does on day 14 (billing.charging.suspend_unpaid)
        await db.execute(
            "UPDATE tenants SET status = 'suspended', billing_suspended_at = now() WHERE id = $1",
            uuid.UUID(admin.tenant_id),
        )
    async with visitor_socket(platform, widget["public_key"], ALLOWED) as visitor:
        await visitor.until("ready")
        await visitor.send({"type": "message", "content": "hello", "client_id": "c1"})
        refused = await visitor.until("error")
        assert refused["code"] == "tenant_suspended", refused
        await visitor.send({"type": "ping"})
        assert (await visitor.until("pong"))["type"] == "pong"  # the socket stays open
