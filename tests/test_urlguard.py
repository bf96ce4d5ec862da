"""The URL guard (runtime.urlguard): loopback, private, link-local and metadata addresses are
refused at submit time (REST 422 with a code) and again at connect time, unless allowlisted.

The suite runs with HB_URL_ALLOWLIST allowing loopback (conftest), so every refusal here is
made either with an explicit empty allowlist or against a web process started without one.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar, Request, post

from conftest import start_web
from helpers.api import agent, register
from runtime import urlguard
from runtime.urlguard import Allowlist, UnsafeUrl, check_url, guarded_transport
from runtime.webhooks import Attempt, deliver
from tools.fake_llm import bind, server

NONE = Allowlist()

REFUSED = [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://127.1.2.3:8080/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://localhost:9/hook", "loopback"),
    ("http://10.1.2.3/hook", "private"),
    ("http://172.16.0.1/hook", "private"),
    ("http://192.168.1.10/hook", "private"),
    ("http://[fd12::1]/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://169.254.1.1/hook", "link-local"),
    ("http://0.0.0.0/hook", "not a public"),
    ("http://100.64.0.1/hook", "not a public"),
    ("http://2130706433/hook", "loopback"),  # 127.0.0.1 as one decimal number
]


@pytest.mark.parametrize(("url", "why"), REFUSED)
async def test_internal_addresses_are_refused_without_an_allowlist(url: str, why: str) -> None:
    with pytest.raises(UnsafeUrl) as refused:
        await check_url(url, NONE)
    assert refused.value.code == "url_not_allowed"
    assert why in str(refused.value)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.org/x", "url_scheme_not_allowed"),
        ("file:///etc/passwd", "url_scheme_not_allowed"),
        ("http://user:pw@example.org/", "url_invalid"),
        ("http:///nohost", "url_invalid"),
        ("http://example.org:99999/", "url_invalid"),
        ("http://[", "url_invalid"),
        ("http://no-such-host.invalid/", "url_unresolvable"),
    ],
)
async def test_malformed_urls_are_refused_with_their_own_code(url: str, code: str) -> None:
    with pytest.raises(UnsafeUrl) as refused:
        await check_url(url, NONE)
    assert refused.value.code == code


async def test_public_addresses_pass() -> None:
    await check_url("https://93.184.215.14/hook", NONE)
    await check_url("http://[2606:4700::1111]/hook", NONE)
    assert urlguard.refusal(ipaddress.ip_address("8.8.8.8")) is None


async def test_the_allowlist_lets_named_networks_and_hosts_through() -> None:
    allow = Allowlist.parse(" 10.1.0.0/16, hooks.internal ,::1")
    assert allow.allows_ip(ipaddress.ip_address("10.1.200.3"))
    assert not allow.allows_ip(ipaddress.ip_address("10.2.0.1"))
    assert allow.allows_host("HOOKS.internal.")
    await check_url("http://10.1.2.3/hook", allow)
    await check_url("http://[::1]/hook", allow)
    with pytest.raises(UnsafeUrl):
        await check_url("http://10.2.0.1/hook", allow)
    with pytest.raises(UnsafeUrl):
        await check_url("http://169.254.169.254/", allow)  # metadata is never on that list


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[list[bytes], int]]:
    """A real HTTP server on loopback counting what reaches it."""
    calls: list[bytes] = []

    @post("/hook", status_code=200)
    async def hook(request: Request) -> dict:
        calls.append(await request.body())
        return {"ok": True}

    sock = bind("127.0.0.1", 0)
    uv = server(Litestar([hook]))
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    yield calls, sock.getsockname()[1]
    uv.should_exit = True
    await asyncio.wait_for(task, 5)


async def test_connect_time_check_resolves_the_name_and_refuses_before_any_byte_is_sent(receiver) -> None:
    calls, port = receiver
    async with httpx.AsyncClient(transport=guarded_transport(NONE)) as client:
        with pytest.raises(httpx.ConnectError) as refused:
            await client.post(f"http://localhost:{port}/hook", content=b"{}")
    assert "url_not_allowed" in str(refused.value)
    assert calls == []
    # The same transport with loopback allowed connects to the checked address and delivers.
    async with httpx.AsyncClient(transport=guarded_transport(Allowlist.parse("127.0.0.0/8,::1"))) as client:
        r = await client.post(f"http://localhost:{port}/hook", content=b"{}")
    assert r.status_code == 200 and calls == [b"{}"]


async def test_the_webhook_sender_gives_up_at_once_on_a_refused_address(receiver) -> None:
    calls, port = receiver
    attempts: list[Attempt] = []

    async def record(a: Attempt) -> None:
        attempts.append(a)

    # Metadata is refused even though the suite's allowlist admits loopback.
    ok = await deliver("http://169.254.169.254/latest", b"{}", "s", record, attempts=3, base_delay_s=0.01)
    assert not ok
    assert len(attempts) == 1 and (attempts[0].error or "").startswith("url_not_allowed")
    # The allowlisted loopback receiver is reached by the same sender.
    assert await deliver(f"http://127.0.0.1:{port}/hook", b"{}", "s", record, attempts=1)
    assert calls == [b"{}"]


async def test_rest_refuses_a_metadata_webhook_url_with_422_and_a_code(client) -> None:
    admin = await register(client, "Guarded")
    bot = await agent(admin)
    r = await admin.post(
        "/api/v1/executions",
        json={"agent_id": bot["id"], "input": "hi", "webhook_url": "http://169.254.169.254/latest/meta-data"},
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["errors"][0]["key"] == "webhook_url"
    assert body["errors"][0]["code"] == "url_not_allowed"


async def test_rest_refuses_loopback_when_the_deployment_has_no_allowlist(database) -> None:
    base, proc = await start_web(env={"HB_URL_ALLOWLIST": ""})
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            admin = await register(c, "No allowlist")
            bot = await agent(admin)
            for url in ("http://127.0.0.1:9/hook", "http://localhost/hook", "http://[::1]/hook"):
                r = await admin.post(
                    "/api/v1/executions", json={"agent_id": bot["id"], "input": "hi", "webhook_url": url}
                )
                assert r.status_code == 422, (url, r.text)
                assert r.json()["errors"][0]["code"] == "url_not_allowed"
    finally:
        proc.stop()
