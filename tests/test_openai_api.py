"""A tenant's agents as an OpenAI-compatible API, driven by real clients: the official `openai`
SDK (sync and async, streamed and not) and LangChain's `ChatOpenAI`, against the real web,
actors and ledger processes, with the fake LLM answering.

Sync clients run in a thread: the fake LLM serves from this test's event loop.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import openai
import pytest
from langchain_openai import ChatOpenAI

from helpers.api import ApiUser, agent, register
from helpers.catalog import catalog_model
from helpers.chat_fixtures import set_max_concurrency
from helpers.eventually import eventually
from helpers.fake_llm import FakeLLM
from helpers.ledger import make_rate
from helpers.platform import Platform, fake_reply, platform_with_ledger

ROLE = "You screen candidates."


@pytest.fixture(scope="module")
async def platform(database: str, fake_llm: FakeLLM) -> AsyncIterator[Platform]:
    async with platform_with_ledger(fake_llm) as running:
        yield running


@pytest.fixture(scope="module")
async def model() -> str:
    """A priced catalog model the fake LLM answers (budgets need a price)."""
    key = await catalog_model(f"oa-{uuid.uuid4().hex[:6]}", "openai")
    await make_rate(key, "input_tokens", cost="0.5", billing="1")
    await make_rate(key, "output_tokens", cost="1", billing="2")
    return key


class Tenant:
    """A tenant admin, an API key of the tenant and an agent with a slug."""

    def __init__(self, admin: ApiUser, key: str, bot: dict, base_url: str) -> None:
        self.admin, self.key, self.bot, self.base_url = admin, key, bot, base_url

    @property
    def slug(self) -> str:
        return self.bot["slug"]

    def sync(self, **kw) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.base_url}/v1", api_key=self.key, max_retries=0, **kw)

    def aio(self, **kw) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=f"{self.base_url}/v1", api_key=self.key, max_retries=0, **kw)

    async def entries(self, completion_id: str, count: int = 2) -> dict[str, Decimal]:
        """The ledger's quantities per resource of the completion's execution."""
        execution = str(uuid.UUID(completion_id.removeprefix("chatcmpl-")))
        r = await eventually(
            lambda: self.admin.get("/api/v1/ledger/entries", params={"execution_id": execution}),
            lambda r: len(r.json()["entries"]) >= count,
            "the completion's ledger entries",
        )
        return {e["resource_type"]: Decimal(e["quantity"]) for e in r.json()["entries"]}


async def new_tenant(platform: Platform, client: httpx.AsyncClient, model: str) -> Tenant:
    admin = await register(client)
    created = await admin.post("/api/v1/tenant/api-keys", json={"name": "sdk"})
    assert created.status_code == 201, created.text
    slug = f"screener-{uuid.uuid4().hex[:6]}"
    bot = await agent(admin, role=ROLE, slug=slug, llm_config={"model": model})
    return Tenant(admin, created.json()["key"], bot, platform.base_url)


@pytest.fixture
async def tenant(platform: Platform, model: str) -> AsyncIterator[Tenant]:
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        yield await new_tenant(platform, client, model)


def prompt_tokens(*texts: str) -> int:
    """What the fake LLM counts for these messages (words plus 4 per message)."""
    return sum(len(t.split()) + 4 for t in texts)


async def test_sync_completion_answers_with_the_agents_role_first_and_usage_matching_the_ledger(
    tenant: Tenant,
) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello [[reply:5]]"}]
    done = await asyncio.to_thread(
        lambda: tenant.sync().chat.completions.create(model=tenant.slug, messages=messages)  # type: ignore[arg-type]
    )
    assert done.object == "chat.completion" and done.model == tenant.slug
    assert done.choices[0].message.content == fake_reply(5)
    assert done.choices[0].finish_reason == "stop"
    # The agent's role is the system prompt, the request's messages follow: the fake counts all three.
    assert done.usage.prompt_tokens == prompt_tokens(ROLE, "Be brief.", "hello [[reply:5]]")
    assert done.usage.completion_tokens == 5
    entries = await tenant.entries(done.id)
    assert entries == {
        "input_tokens": done.usage.prompt_tokens,
        "output_tokens": done.usage.completion_tokens,
    }


async def test_sync_stream_text_equals_the_reply_and_its_usage_the_ledger(tenant: Tenant) -> None:
    def stream() -> tuple[str, list]:
        chunks = list(
            tenant.sync().chat.completions.create(
                model=tenant.bot["id"],  # the agent's id works as well as its slug
                messages=[{"role": "user", "content": "stream please [[reply:12]]"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks

    text, chunks = await asyncio.to_thread(stream)
    assert text == fake_reply(12)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens == 12
    entries = await tenant.entries(chunks[0].id)
    assert entries == {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens}


async def test_async_client_streams_and_completes_and_lists_agents_as_models(tenant: Tenant) -> None:
    client = tenant.aio()
    done = await client.chat.completions.create(
        model=tenant.slug, messages=[{"role": "user", "content": "async [[reply:4]]"}]
    )
    assert done.choices[0].message.content == fake_reply(4)
    stream = await client.chat.completions.create(
        model=tenant.slug, messages=[{"role": "user", "content": "async stream [[reply:7]]"}], stream=True
    )
    pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(pieces) == fake_reply(7) and len([p for p in pieces if p]) >= 1
    models = [m.id async for m in client.models.list()]
    assert models == [tenant.slug]
    await client.close()


async def test_langchain_chat_openai_invokes_and_streams(tenant: Tenant) -> None:
    chat = ChatOpenAI(model=tenant.slug, base_url=f"{tenant.base_url}/v1", api_key=tenant.key, max_retries=0)
    answer = await chat.ainvoke("langchain here [[reply:3]]")
    assert answer.content == fake_reply(3)
    pieces = [piece.content async for piece in chat.astream("langchain stream [[reply:6]]")]
    assert "".join(str(p) for p in pieces) == fake_reply(6)


async def test_refusals_are_openai_errors_with_the_right_status(
    tenant: Tenant, platform: Platform, model: str
) -> None:
    wrong = openai.AsyncOpenAI(base_url=f"{tenant.base_url}/v1", api_key="hb_nope_nothing", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        await wrong.chat.completions.create(model=tenant.slug, messages=[{"role": "user", "content": "x"}])
    assert refused.value.status_code == 401 and refused.value.code == "invalid_api_key"

    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        other = await new_tenant(platform, client, model)
    client = tenant.aio()
    for foreign in (other.slug, other.bot["id"], "no-such-agent"):
        with pytest.raises(openai.NotFoundError) as missing:
            await client.chat.completions.create(model=foreign, messages=[{"role": "user", "content": "x"}])
        assert missing.value.code == "model_not_found" and "error" in missing.value.response.json()

    assert (await tenant.admin.put("/api/v1/tenant/budget", json={"monthly_cap": "0"})).status_code == 200
    with pytest.raises(openai.APIStatusError) as broke:
        await client.chat.completions.create(model=tenant.slug, messages=[{"role": "user", "content": "x"}])
    assert broke.value.status_code == 402 and broke.value.code == "tenant_cap_reached"
    await tenant.admin.put("/api/v1/tenant/budget", json={"monthly_cap": None})

    await set_max_concurrency(str(tenant.admin.tenant_id), 0)
    try:
        with pytest.raises(openai.RateLimitError) as limited:
            await client.chat.completions.create(
                model=tenant.slug, messages=[{"role": "user", "content": "x"}]
            )
        assert limited.value.code == "rate_limit_exceeded"
    finally:
        await set_max_concurrency(str(tenant.admin.tenant_id), 10)
    with pytest.raises(openai.BadRequestError):
        await client.chat.completions.create(model=tenant.slug, messages=[])
    await client.close()


async def test_a_stream_the_client_leaves_is_cancelled_and_billed_for_what_was_sent(tenant: Tenant) -> None:
    client = tenant.aio()
    stream = await client.chat.completions.create(
        model=tenant.slug, messages=[{"role": "user", "content": "long one [[reply:2000]]"}], stream=True
    )
    received = []
    async for piece in stream:
        if piece.choices and piece.choices[0].delta.content:
            received.append(piece.choices[0].delta.content)
        if len(received) >= 3:
            break
    await stream.close()  # the client goes away mid-answer
    execution = str(uuid.UUID(piece.id.removeprefix("chatcmpl-")))
    row = await eventually(
        lambda: tenant.admin.get(f"/api/v1/executions/{execution}"),
        lambda r: r.json()["status"] != "running",
        "the abandoned execution to end",
    )
    assert row.json()["status"] == "cancelled", row.json()
    entries = await tenant.entries(piece.id)
    assert 3 <= entries["output_tokens"] < 2000, entries  # what was produced, not the whole answer
    assert entries["input_tokens"] > 0
    await client.close()
