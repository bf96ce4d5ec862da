"""A webhook endpoint over real HTTP (the `receiver` fixture): fails a few times, then accepts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar, Request, Response, post

from runtime.webhooks import HEADER
from tools.fake_llm import bind, server


class Receiver:
    """A webhook endpoint that fails `failures` times with 500, then answers 200."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[bytes, str]] = []
        self.delivered = asyncio.Event()


@pytest.fixture(name="receiver")
async def receiver_fixture() -> AsyncIterator[tuple[Receiver, str]]:
    receiver = Receiver(failures=2)

    @post("/hook", status_code=200)
    async def hook(request: Request) -> Response:
        receiver.calls.append((await request.body(), request.headers.get(HEADER, "")))
        if len(receiver.calls) <= receiver.failures:
            return Response({"error": "try later"}, status_code=500)
        receiver.delivered.set()
        return Response({"ok": True}, status_code=200)

    sock = bind("127.0.0.1", 0)
    uv = server(Litestar([hook]))
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    yield receiver, f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    uv.should_exit = True
    await asyncio.wait_for(task, 5)
