"""Fixtures shared by the chat and execution tests (a plugin of conftest.py: name them, never import them)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from helpers.api import ApiUser, agent, register
from helpers.fake_llm import FakeLLM
from helpers.platform import Platform, running_platform
from runtime import db


@pytest.fixture(scope="module", name="platform")
async def platform_fixture(database: str, fake_llm: FakeLLM) -> AsyncIterator[Platform]:
    """Web plus one actors process for this module."""
    async with running_platform(fake_llm, 1) as running:
        yield running


@pytest.fixture(name="admin")
async def admin_fixture(platform: Platform) -> AsyncIterator[ApiUser]:
    """A new tenant's admin, talking to the platform's web process."""
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        yield await register(client)


async def fake_agent(admin: ApiUser, **overrides) -> dict:
    """An agent answered by the fake LLM."""
    return await agent(admin, llm_config={"model": "fake", "provider": "openai"}, **overrides)


async def open_session(who: ApiUser, agent_id: str) -> str:
    """A new chat session of `who` with the agent."""
    r = await who.post("/api/v1/sessions", json={"agent_id": agent_id})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def set_max_concurrency(tenant_id: str, limit: int) -> None:
    """Change a tenant's concurrent execution limit (a plan setting, not tenant-editable)."""
    async with db.scope(system=True):
        await db.execute("UPDATE tenants SET max_concurrency = $1 WHERE id = $2", limit, uuid.UUID(tenant_id))


async def priced_fake_agent(admin: ApiUser) -> dict:
    """An agent answered by the fake LLM on a fresh priced catalog model: a ledger running
    beside the test records its usage instead of dead-lettering it."""
    from helpers.ledger import priced_model

    model = await priced_model(provider="openai")
    return await agent(admin, llm_config={"model": model, "provider": "openai"})
