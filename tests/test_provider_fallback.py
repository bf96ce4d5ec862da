"""Two vendors: two fake OpenAI-compatible servers registered as two named providers.

Provider A is scripted through its stored headers (the fake reads `x-fake-llm` markers) to
answer 500, or to hang; B answers. An agent on A with a fallback on B is answered by B,
billed at B's model's rates by the real ledger; A's breaker opens and shows in the admin's
provider list, and never trips B.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from helpers.api import ApiUser, agent, app_admin, register
from helpers.catalog import catalog_model
from helpers.chat_fixtures import open_session
from helpers.eventually import eventually
from helpers.fake_llm import FakeLLM, serve_fake_llm
from helpers.platform import Platform, chat, fake_reply, platform_with_ledger
from runtime import db

BREAKER_THRESHOLD = 2
PROVIDER_TIMEOUT_S = 3.0
B_RATES = ("2.0", "3.0")  # per 1k tokens: input, output (A's are other numbers)


@pytest.fixture(scope="module")
async def vendor_a() -> AsyncIterator[FakeLLM]:
    async with serve_fake_llm() as fake:
        yield fake


@pytest.fixture(scope="module")
async def platform(database: str, fake_llm: FakeLLM) -> AsyncIterator[Platform]:
    flags = ("--breaker-threshold", str(BREAKER_THRESHOLD), "--provider-timeout", str(PROVIDER_TIMEOUT_S))
    async with platform_with_ledger(fake_llm, *flags) as running:
        yield running


@pytest.fixture(scope="module")
async def catalog(platform: Platform, vendor_a: FakeLLM, fake_llm: FakeLLM) -> dict[str, str]:
    """Providers a (500s), h (hangs) and b (answers), each with a priced chat model."""
    tag = uuid.uuid4().hex[:6]
    names = {"a": f"a-{tag}", "h": f"h-{tag}", "b": f"b-{tag}"}
    script = {"a": "[[fail:500]]", "h": "[[hang]]"}
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        root = await app_admin(client)
        for key, name in names.items():
            body: dict = {"base_url": (fake_llm if key == "b" else vendor_a).base_url, "api_key": f"sk-{key}"}
            if key in script:
                body["headers"] = {"x-fake-llm": script[key]}
            assert (await root.put(f"/api/v1/admin/providers/{name}", json=body)).status_code == 200
            rates = B_RATES if key == "b" else ("0.1", "0.2")
            for resource, rate in zip(("input_tokens", "output_tokens"), rates, strict=True):
                r = await root.post(
                    "/api/v1/admin/rates",
                    json={
                        "model": f"{name}-chat",
                        "resource_type": resource,
                        "unit": "1k_tokens",
                        "cost_rate": rate,
                        "billing_rate": rate,
                    },
                )
                assert r.status_code == 201, r.text
            model = {"model_key": f"{name}-chat", "model_name": name, "provider": name}
            assert (await root.post("/api/v1/admin/models", json=model)).status_code == 201
    return names


@pytest.fixture
async def people(platform: Platform) -> AsyncIterator[tuple[ApiUser, ApiUser]]:
    """(a tenant admin, the app admin)."""
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        yield await register(client), await app_admin(client)


async def ask(
    platform: Platform, admin: ApiUser, primary: str, fallback: str, content: str
) -> tuple[str, dict]:
    bot = await agent(
        admin,
        llm_config={
            "model": f"{primary}-chat",
            "fallback": {"provider": fallback, "model": f"{fallback}-chat"},
        },
    )
    session = await open_session(admin, bot["id"])
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message(content)
        return execution, await ws.reply(execution)


async def test_a_500_falls_back_to_the_other_vendor_billed_at_its_rates_and_trips_only_its_breaker(
    platform: Platform,
    catalog: dict[str, str],
    people: tuple[ApiUser, ApiUser],
    vendor_a: FakeLLM,
    fake_llm: FakeLLM,
) -> None:
    admin, root = people
    a, b = catalog["a"], catalog["b"]
    a_before, b_before = vendor_a.stats.requests, fake_llm.stats.requests
    execution, final = await ask(platform, admin, a, b, "hello [[reply:6]]")
    assert final["type"] == "execution.completed", final
    assert final["text"] == fake_reply(6)
    assert vendor_a.stats.requests - a_before >= 1  # A was tried first (a slow first call may time out)
    assert fake_llm.stats.requests - b_before == 1
    entries = await eventually(
        lambda: admin.get("/api/v1/ledger/entries", params={"execution_id": execution}),
        lambda r: len(r.json()["entries"]) == 2,
        "the ledger entries of the answer",
    )
    by_type = {e["resource_type"]: e for e in entries.json()["entries"]}
    assert Decimal(by_type["output_tokens"]["quantity"]) == 6  # B's usage: its six tokens
    for resource, rate in zip(("input_tokens", "output_tokens"), B_RATES, strict=True):
        entry = by_type[resource]
        assert entry["model"] == f"{b}-chat"  # only B serves it: B answered, at B's rates
        expected = Decimal(entry["quantity"]) * Decimal(rate) / 1000
        assert Decimal(entry["tenant_cost"]) == expected.quantize(Decimal("0.000001"))

    # A's breaker is open now: the next call skips A without a request, B still answers.
    a_before = vendor_a.stats.requests
    _, final = await ask(platform, admin, a, b, "again [[reply:3]]")
    assert final["type"] == "execution.completed" and final["text"] == fake_reply(3), final
    assert vendor_a.stats.requests == a_before
    providers = await eventually(
        lambda: root.get("/api/v1/admin/providers"),
        lambda r: {p["name"]: p for p in r.json()}[a]["breaker_state"] == "open",
        "provider A's open breaker in the admin's list",
    )
    states = {p["name"]: p for p in providers.json()}
    assert "provider_" in states[a]["last_error"] and states[a]["failures"] == BREAKER_THRESHOLD
    assert states[b]["breaker_state"] == "closed" and states[b]["last_error"] is None


async def test_a_hung_vendor_falls_back_after_the_provider_timeout(
    platform: Platform, catalog: dict[str, str], people: tuple[ApiUser, ApiUser]
) -> None:
    admin, _ = people
    execution, final = await ask(platform, admin, catalog["h"], catalog["b"], "are you there [[reply:4]]")
    assert final["type"] == "execution.completed", final
    assert final["text"] == fake_reply(4)
    entries = await eventually(
        lambda: admin.get("/api/v1/ledger/entries", params={"execution_id": execution}),
        lambda r: len(r.json()["entries"]) == 2,
        "the ledger entries of the answer",
    )
    assert {e["model"] for e in entries.json()["entries"]} == {f"{catalog['b']}-chat"}


async def test_an_unconfigured_primary_fails_with_a_clear_code(
    platform: Platform, catalog: dict[str, str], people: tuple[ApiUser, ApiUser]
) -> None:
    """A provider deleted after its agent was made: the execution fails, naming the cause."""
    admin, root = people
    name = f"gone-{uuid.uuid4().hex[:6]}"
    assert (
        await root.put(f"/api/v1/admin/providers/{name}", json={"base_url": "http://127.0.0.1:9/v1"})
    ).status_code == 200
    await catalog_model(f"{name}-chat", name)
    bot = await agent(admin, llm_config={"model": f"{name}-chat"})
    async with db.scope(system=True):  # the admin API refuses this while the model exists
        await db.execute("DELETE FROM system_configs WHERE key LIKE $1", f"provider.{name}.%")
    session = await open_session(admin, bot["id"])
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message("hi")
        final = await ws.reply(execution)
    assert final["type"] == "execution.failed" and final["error"]["code"] == "unknown_provider", final


async def test_deactivating_a_model_lets_running_executions_finish_and_refuses_new_ones(
    platform: Platform, catalog: dict[str, str], people: tuple[ApiUser, ApiUser]
) -> None:
    admin, root = people
    key = f"sunset-{uuid.uuid4().hex[:6]}"
    for resource in ("input_tokens", "output_tokens"):
        body = {
            "model": key,
            "resource_type": resource,
            "unit": "1m_tokens",
            "cost_rate": "1",
            "billing_rate": "1",
        }
        assert (await root.post("/api/v1/admin/rates", json=body)).status_code == 201
    model = await root.post(
        "/api/v1/admin/models", json={"model_key": key, "model_name": key, "provider": catalog["b"]}
    )
    assert model.status_code == 201, model.text
    bot = await agent(admin, llm_config={"model": key})
    session = await open_session(admin, bot["id"])
    async with chat(platform, session, admin.token) as ws:
        execution = await ws.message("a long one [[reply:3000]]")
        await ws.until("delta", execution_id=execution)  # it runs
        r = await root.patch(f"/api/v1/admin/models/{model.json()['id']}", json={"is_active": False})
        assert r.status_code == 200, r.text
        assert (await admin.get(f"/api/v1/executions/{execution}")).json()["status"] == "running"
        await ws.send({"type": "message", "content": "another", "client_id": uuid.uuid4().hex})
        refused = await ws.until("error")
        assert refused["code"] == "model_inactive", refused
        final = await ws.reply(execution)
    assert final["type"] == "execution.completed" and final["text"] == fake_reply(3000)
