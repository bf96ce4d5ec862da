"""Real HTTP servers for the channel tests: a host page on another origin (the widget's
site), and fakes of the Telegram Bot API and the WhatsApp Cloud API that record what the
platform sent (`sent`) and can fail the first calls (`failures`) to exercise retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from litestar import Litestar, Request, Response, get, post
from litestar.handlers import BaseRouteHandler

from tools.fake_llm import bind, server


@asynccontextmanager
async def serve(*handlers: BaseRouteHandler) -> AsyncIterator[str]:
    """A Litestar app of `handlers` on a free loopback port; yields its base URL."""
    sock = bind("127.0.0.1", 0)
    uv = server(Litestar(list(handlers)))
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        uv.should_exit = True
        await asyncio.wait_for(task, 5)


def widget_page(script_url: str, key: str) -> str:
    """A customer's page embedding the widget with one script tag."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Acme shop</title></head>"
        "<body><main><h1>Acme shop</h1><p>Welcome.</p></main>"
        f"<script src='{script_url}' data-widget='{key}' async></script></body></html>"
    )


@asynccontextmanager
async def host_page(html: str) -> AsyncIterator[str]:
    """A page served from its own origin (http://127.0.0.1:<port>/)."""

    @get("/", media_type="text/html")
    async def page() -> str:
        return html

    async with serve(page) as base:
        yield base


@dataclass
class ChannelApi:
    """A fake channel API: every call recorded; the first `failures` answered 500."""

    base_url: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    failures: int = 0
    calls: int = 0

    def texts(self) -> list[str]:
        """The texts delivered (calls that were answered 200)."""
        return [s["text"] if isinstance(s["text"], str) else s["text"]["body"] for s in self.sent]


def _recording(api: ChannelApi, path: str, ok: dict[str, Any], failed: dict[str, Any]) -> BaseRouteHandler:
    """A POST handler at `path` (one `{target}` segment) that records into `api`."""

    @post(path, status_code=200)
    async def record(request: Request, target: str) -> Response:
        api.calls += 1
        if api.calls <= api.failures:
            return Response(failed, status_code=500)
        api.sent.append(await request.json())
        api.paths.append(target)
        api.headers.append({"authorization": request.headers.get("authorization", "")})
        return Response(ok)

    return record


@pytest.fixture(name="telegram_api", scope="module")
async def telegram_api_fixture() -> AsyncIterator[ChannelApi]:
    """The Telegram Bot API: POST /bot<token>/sendMessage."""
    api = ChannelApi()
    handler = _recording(api, "/{target:str}/sendMessage", {"ok": True, "result": {}}, {"ok": False})
    async with serve(handler) as base:
        api.base_url = base
        yield api


@pytest.fixture(name="whatsapp_api", scope="module")
async def whatsapp_api_fixture() -> AsyncIterator[ChannelApi]:
    """The WhatsApp Cloud API: POST /<phone_number_id>/messages with a bearer token."""
    api = ChannelApi()
    handler = _recording(api, "/{target:str}/messages", {"messages": [{"id": "wamid.fake"}]}, {"error": {}})
    async with serve(handler) as base:
        api.base_url = base
        yield api
