"""The fake OpenAI-compatible server, run in the test process on a free port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from tools.fake_llm import FakeLLMStats, Pace, bind, create_app, server


@dataclass
class FakeLLM:
    """A running fake LLM: its base URL (ending in /v1) and its live counters."""

    base_url: str
    stats: FakeLLMStats


@asynccontextmanager
async def serve_fake_llm() -> AsyncIterator[FakeLLM]:
    """A fake LLM over real HTTP on a free port, fast pace (2 ms/token), for the block."""
    sock = bind("127.0.0.1", 0)  # listening before serve starts: no wait for readiness
    port = sock.getsockname()[1]
    stats = FakeLLMStats()
    uv = server(create_app(Pace(tokens_per_second=500, ttft_ms=1), stats))
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    try:
        yield FakeLLM(base_url=f"http://127.0.0.1:{port}/v1", stats=stats)
    finally:
        uv.should_exit = True
        await asyncio.wait_for(task, 5)


@pytest.fixture(scope="session", name="fake_llm")
async def fake_llm_fixture() -> AsyncIterator[FakeLLM]:
    """The suite's fake LLM (the `openai` provider of every platform a test starts)."""
    async with serve_fake_llm() as fake:
        yield fake
