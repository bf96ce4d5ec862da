"""Webhook signing and delivery with retries, against a real local HTTP receiver."""

from __future__ import annotations

import asyncio
import socket
import time

import uvicorn
from litestar import Litestar, Request, post

from conftest import free_port
from runtime.webhooks import HEADER, Attempt, deliver, sign, verify

SECRET = "whsec_test"


def test_signature_verifies_and_rejects_tampering_and_replay():
    body = b'{"status":"completed"}'
    header = sign(SECRET, body)
    assert verify(SECRET, body, header)
    assert not verify(SECRET, body + b" ", header)
    assert not verify("other", body, header)
    assert not verify(SECRET, body, sign(SECRET, body, int(time.time()) - 3600))
    assert not verify(SECRET, body, "garbage")


async def test_delivery_retries_with_backoff_until_accepted():
    received: list[tuple[bytes, str]] = []

    @post("/hook", status_code=200)
    async def hook(request: Request) -> dict:
        received.append((await request.body(), request.headers[HEADER.lower()]))
        if len(received) < 3:
            from litestar.exceptions import HTTPException

            raise HTTPException(status_code=503)
        return {}

    sock = socket.create_server(("127.0.0.1", 0))  # listening before serve(): no readiness wait
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(Litestar([hook]), log_level="error"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    attempts: list[Attempt] = []

    async def record(a: Attempt) -> None:
        attempts.append(a)

    body = b'{"execution_id":"x"}'
    try:
        ok = await deliver(f"http://127.0.0.1:{port}/hook", body, SECRET, record, base_delay_s=0.01)
    finally:
        server.should_exit = True
        await task
    assert ok
    assert [a.status_code for a in attempts] == [503, 503, 200]
    assert all(b == body and verify(SECRET, b, h) for b, h in received)


async def test_delivery_gives_up_and_reports_connection_errors():
    attempts: list[Attempt] = []

    async def record(a: Attempt) -> None:
        attempts.append(a)

    ok = await deliver(
        f"http://127.0.0.1:{free_port()}/", b"{}", SECRET, record, attempts=3, base_delay_s=0.01
    )
    assert not ok
    assert [a.number for a in attempts] == [1, 2, 3]
    assert all(a.status_code is None and "Connect" in (a.error or "") for a in attempts)
