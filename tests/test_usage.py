"""Usage reports, the paged ledger per role, budgets over REST, partner earnings, and the
live usage WebSocket fed by the real ledger process. Real web process, PostgreSQL, RabbitMQ."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import msgspec
import pytest
import websockets
from faststream.rabbit import RabbitBroker
from websockets.exceptions import ConnectionClosed

from helpers.api import ApiUser, agent, app_admin, login, member, partner, register, resold_tenant
from helpers.eventually import eventually
from helpers.ledger import priced_model, start_ledger_process, usage
from helpers.rabbit import make_broker
from ledger import budget, service
from runtime import db
from runtime.broker import topology, usage_live_key
from runtime.messages import LiveUsage, LiveUsageBatch, encode
from runtime.publishing import publish_usage

D = Decimal
HIDDEN = {"platform_cost", "partner_commission"}


async def entries_in_db(tenant_id: str) -> list[dict]:
    async with db.scope(system=True):
        rows = await db.fetch(
            "SELECT id, model, quantity, tenant_cost, partner_commission FROM ledger_entries "
            "WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC",
            uuid.UUID(tenant_id),
        )
    return [dict(r) for r in rows]


async def record(tenant_id: str, model: str, agent_id: str | None = None, n: int = 1) -> None:
    """Usage events recorded by the ledger's own service (one transaction, as the consumer)."""
    events = []
    for i in range(n):
        event = usage(uuid.UUID(tenant_id), model, 100 + i, 50 + i)
        if agent_id:
            event.agent_id = uuid.UUID(agent_id)
        events.append(event)
    result = await service.record_batch(events)
    assert not result.rejected, result.rejected


@pytest.fixture
async def people(client: httpx.AsyncClient) -> dict:
    root = await app_admin(client)
    p, q = await partner(root), await partner(root)
    resold, resold_admin_email = await resold_tenant(p)
    other, _ = await resold_tenant(q)
    return {
        "root": root,
        "p": p,
        "q": q,
        "resold": resold,
        "other": other,
        "resold_admin": await login(client, resold_admin_email),
        "direct": await register(client),
    }


# --- budgets over REST -------------------------------------------------------------------


async def test_rest_admission_holds_the_cap_and_refuses_with_402_naming_it(
    client: httpx.AsyncClient,
) -> None:
    admin = await register(client)
    root = await app_admin(client)
    r = await root.patch(f"/api/v1/admin/tenants/{admin.tenant_id}", json={"max_concurrency": 100})
    assert r.status_code == 200, r.text
    model = await priced_model()
    bot = await agent(admin, llm_config={"model": model, "provider": "demo", "max_tokens": 1000})
    text = "screen this candidate"
    tokens = budget.input_bound(budget.utf8_bytes(bot["role"], text), 2)
    async with db.scope(uuid.UUID(admin.tenant_id)):
        bound = await budget.quote(uuid.UUID(admin.tenant_id), model, tokens, 1000) * budget.MAX_ATTEMPTS
    cap = str(bound * D("2.5"))
    r = await admin.put("/api/v1/tenant/budget", json={"monthly_cap": cap})
    assert r.status_code == 200 and D(r.json()["monthly_cap"]) == D(cap), r.text

    answers = await asyncio.gather(
        *(admin.post("/api/v1/executions", json={"agent_id": bot["id"], "input": text}) for _ in range(8))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [202] * 2 + [402] * 6, [a.text for a in answers]
    assert all("cap" in a.json()["detail"] for a in answers if a.status_code == 402)
    state = (await admin.get("/api/v1/tenant/budget")).json()
    assert D(state["held"]) == bound * 2 and D(state["spent"]) == 0

    # Per-user cap: the tenant cap is lifted, the member's own cap of 0 refuses it.
    user = await member(admin)
    assert (await admin.put("/api/v1/tenant/budget", json={"monthly_cap": None})).status_code == 200
    r = await admin.put(f"/api/v1/tenant/users/{user.user_id}/budget", json={"monthly_cap": "0"})
    assert r.status_code == 200, r.text
    r = await user.post("/api/v1/executions", json={"agent_id": bot["id"], "input": text})
    assert r.status_code == 402 and "Your monthly spend cap" in r.json()["detail"], r.text
    r = await admin.post("/api/v1/executions", json={"agent_id": bot["id"], "input": text})
    assert r.status_code == 202, "the admin has no user cap"
    r = await admin.put(f"/api/v1/tenant/users/{uuid.uuid4()}/budget", json={"monthly_cap": "1"})
    assert r.status_code == 404
    r = await admin.put("/api/v1/tenant/budget", json={"monthly_cap": "0.0000001"})
    assert r.status_code == 400, "more than 6 places is refused, not rounded"

    # Prepaid credit: a top-up makes the tenant prepaid; too little credit refuses (402).
    credit = f"/api/v1/admin/tenants/{admin.tenant_id}/credit"
    r = await root.post(credit, json={"amount": "0.5", "note": "trial"})
    assert r.status_code == 201 and r.json()["credit_balance"] == "0.500000", r.text
    state = (await admin.get("/api/v1/tenant/budget")).json()
    assert state["prepaid"] is True and state["credit_balance"] == "0.500000"
    r = await admin.post("/api/v1/executions", json={"agent_id": bot["id"], "input": text})
    assert r.status_code == 402 and "credit" in r.json()["detail"].lower(), r.text
    assert (await admin.post(credit, json={"amount": "1"})).status_code == 403


# --- reports -----------------------------------------------------------------------------


async def test_usage_totals_by_model_agent_and_day_without_platform_cost(people: dict) -> None:
    admin: ApiUser = people["direct"]
    m1, m2 = await priced_model(), await priced_model()
    a1 = await agent(admin, name="Alpha", llm_config={"model": m1})
    await record(admin.tenant_id, m1, a1["id"], n=3)
    await record(admin.tenant_id, m2, None, n=2)
    stored = await entries_in_db(admin.tenant_id)

    body = (await admin.get("/api/v1/usage", params={"group_by": "model"})).json()
    by_model = {g["key"]: g for g in body["groups"]}
    for model in (m1, m2):
        rows = [e for e in stored if e["model"] == model]
        assert D(by_model[model]["tenant_cost"]) == sum(e["tenant_cost"] for e in rows)
        assert D(by_model[model]["quantity"]) == sum(e["quantity"] for e in rows)
    assert D(body["tenant_cost"]) == sum(e["tenant_cost"] for e in stored)
    assert not HIDDEN & set(json.dumps(body).split('"')), "no platform cost or commission"

    body = (await admin.get("/api/v1/usage", params={"group_by": "agent"})).json()
    alpha = next(g for g in body["groups"] if g["key"] == a1["id"])
    assert alpha["label"] == "Alpha" and alpha["entries"] == 6
    assert D(alpha["input_tokens"]) == 100 + 101 + 102 and D(alpha["output_tokens"]) == 50 + 51 + 52

    body = (await admin.get("/api/v1/usage", params={"group_by": "day"})).json()
    assert len(body["groups"]) == 1 and body["groups"][0]["entries"] == len(stored)
    assert (await admin.get("/api/v1/usage", params={"group_by": "week"})).status_code == 400
    assert (await people["p"].get("/api/v1/usage")).status_code == 403


async def page_through(actor: ApiUser, **params) -> list[dict]:
    out, cursor = [], None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await actor.get("/api/v1/ledger/entries", params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["entries"]) <= 2
        out += body["entries"]
        cursor = body["next_cursor"]
        if cursor is None:
            return out


async def test_ledger_entries_page_newest_first_and_show_each_role_its_own(people: dict) -> None:
    model = await priced_model()
    direct, resold, other = people["direct"], people["resold"]["id"], people["other"]["id"]
    await record(direct.tenant_id, model, n=3)
    await record(resold, model, n=2)
    await record(other, model, n=1)

    mine = await page_through(direct)
    assert [e["id"] for e in mine] == [str(e["id"]) for e in await entries_in_db(direct.tenant_id)]
    assert all(not HIDDEN & e.keys() for e in mine), "a tenant admin never sees cost or commission"
    r = await direct.get("/api/v1/ledger/entries", params={"tenant_id": resold})
    assert r.status_code == 403
    r = await direct.get("/api/v1/ledger/entries", params={"cursor": "not-a-cursor"})
    assert r.status_code == 400

    seen = await page_through(people["p"])
    assert {e["tenant_id"] for e in seen} == {resold}, "a partner sees its tenants only"
    assert len(seen) == 4 and all(HIDDEN <= e.keys() for e in seen)
    assert await page_through(people["p"], tenant_id=other) == []

    root_view = await page_through(people["root"], tenant_id=other)
    assert len(root_view) == 2 and all(HIDDEN <= e.keys() for e in root_view)
    one = mine[0]["execution_id"]
    assert {e["execution_id"] for e in await page_through(direct, execution_id=one)} == {one}
    assert (await people["resold_admin"].get("/api/v1/ledger/entries")).status_code == 200
    user = await member(direct)
    assert (await user.get("/api/v1/ledger/entries")).status_code == 403


async def test_partner_earnings_equal_the_sum_of_its_tenants_commissions_to_the_last_digit(
    people: dict,
    client: httpx.AsyncClient,
) -> None:
    p = people["p"]
    second, _ = await resold_tenant(p, "Second Co")
    model = await priced_model(cost="0.333333", billing="0.777777")
    for tenant in (people["resold"]["id"], second["id"]):
        await record(tenant, model, n=7)
    body = (await p.get("/api/v1/partner/earnings")).json()
    async with db.scope(system=True):
        row = await db.fetchrow(
            "SELECT sum(l.partner_commission) AS c FROM ledger_entries l JOIN tenants t "
            "ON t.id = l.tenant_id WHERE t.partner_id = $1",
            uuid.UUID(p.extra["partner"]["id"]),
        )
    assert D(body["total_commission"]) == row["c"] > 0
    assert sum(D(t["partner_commission"]) for t in body["tenants"]) == row["c"]


# --- live usage WebSocket ----------------------------------------------------------------


@pytest.fixture(scope="module")
async def live_ledger(database: str) -> AsyncIterator[RabbitBroker]:
    """The real ledger process on this run's broker names, and a broker to publish usage."""
    proc = await start_ledger_process("--batch-size", "50", "--batch-ms", "20")
    b = make_broker()
    await b.connect()
    yield b
    await b.stop()
    proc.stop()


class Watcher:
    """An authenticated usage socket collecting its frames."""

    def __init__(self, server: str, actor: ApiUser) -> None:
        self.url = server.replace("http://", "ws://") + "/api/v1/usage/ws"
        self.actor, self.frames = actor, []

    async def __aenter__(self) -> Watcher:
        self.ws = await websockets.connect(self.url)
        await self.ws.send(json.dumps({"type": "auth", "token": self.actor.token}))
        ready = json.loads(await asyncio.wait_for(self.ws.recv(), 5))
        assert ready == {"type": "ready"}, ready
        self.task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        async for text in self.ws:
            self.frames.append(json.loads(text))

    async def __aexit__(self, *exc) -> None:
        self.task.cancel()
        await self.ws.close()

    def of(self, tenant_id: str) -> list[dict]:
        return [f for f in self.frames if f.get("tenant_id") == tenant_id]

    async def wait_for(self, tenant_id: str, n: int) -> list[dict]:
        async def probe() -> int:
            return len(self.of(tenant_id))

        await eventually(probe, lambda c: c >= n, f"{n} live frames of {tenant_id}", timeout=20)
        return self.of(tenant_id)


async def test_live_usage_reaches_each_viewer_with_what_it_may_see(
    people: dict,
    server: str,
    live_ledger: RabbitBroker,
) -> None:
    model = await priced_model()
    mine, theirs = people["resold"]["id"], people["other"]["id"]
    async with (
        Watcher(server, people["p"]) as p_socket,
        Watcher(server, people["q"]) as q_socket,
        Watcher(server, people["resold_admin"]) as tenant_socket,
        Watcher(server, people["root"]) as root_socket,
    ):
        topo = topology()
        await publish_usage(live_ledger, topo, usage(uuid.UUID(theirs), model, 1000, 10))
        await publish_usage(live_ledger, topo, usage(uuid.UUID(mine), model, 2000, 20))
        # The other partner's entries were committed and relayed first (one queue, in order):
        # once ours arrive, anything of theirs would have arrived too.
        ours = await p_socket.wait_for(mine, 2)
        assert p_socket.of(theirs) == [], "a partner never sees another partner's tenants"
        assert {f["resource_type"] for f in ours} == {"input_tokens", "output_tokens"}
        assert all(HIDDEN <= f.keys() and f["type"] == "usage" for f in ours)
        assert len(await q_socket.wait_for(theirs, 2)) == 2 and q_socket.of(mine) == []

        tenant_frames = await tenant_socket.wait_for(mine, 2)
        assert all(not HIDDEN & f.keys() for f in tenant_frames), tenant_frames
        assert set(tenant_frames[0]) == {
            "type",
            "tenant_id",
            "execution_id",
            "model",
            "resource_type",
            "quantity",
            "tenant_cost",
            "at",
        }
        await root_socket.wait_for(mine, 2)
        await root_socket.wait_for(theirs, 2)

        await p_socket.ws.send(json.dumps({"type": "ping"}))
        await eventually(lambda: asyncio.sleep(0, p_socket.frames), lambda fs: {"type": "pong"} in fs, "pong")


async def test_live_usage_relay_reads_a_lone_event_and_survives_a_malformed_one(
    people: dict, server: str, live_ledger: RabbitBroker
) -> None:
    """The ledger sends one usage.batch per tenant per commit; a lone LiveUsage (the old wire
    form, e.g. from a ledger not yet upgraded) still reaches the socket as one frame, and a
    malformed message is skipped without stopping the relay."""
    tenant = uuid.UUID(people["resold"]["id"])
    lone = LiveUsage(
        entry_id=uuid.uuid4(),
        tenant_id=tenant,
        partner_id=None,
        execution_id=uuid.uuid4(),
        model="m",
        resource_type="input_tokens",
        quantity=Decimal("12"),
        unit="tokens",
        platform_cost=Decimal("0.000012"),
        tenant_cost=Decimal("0.000024"),
        partner_commission=Decimal("0"),
        at=datetime.now(UTC),
    )
    batch = LiveUsageBatch(
        tenant_id=tenant,
        entries=[
            msgspec.structs.replace(lone, entry_id=uuid.uuid4(), quantity=q)
            for q in (Decimal("1"), Decimal("2"), Decimal("3"))
        ],
    )
    exchange = topology().usage_live
    async with Watcher(server, people["root"]) as root_socket:
        before = len(root_socket.of(str(tenant)))
        for body in (b"{not json", encode(lone), encode(batch)):
            await live_ledger.publish(body, exchange=exchange, routing_key=usage_live_key(tenant))
        frames = (await root_socket.wait_for(str(tenant), before + 4))[before:]
    assert [f["quantity"] for f in frames] == ["12", "1", "2", "3"], "one frame per entry, in order"
    assert all(f["type"] == "usage" and f["tenant_cost"] == "0.000024" for f in frames)


async def test_live_usage_refuses_users_and_bad_tokens(server: str, people: dict) -> None:
    url = server.replace("http://", "ws://") + "/api/v1/usage/ws"
    user = await member(people["direct"])
    for token, code in ((user.token, 4403), ("nope", 4401)):
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd.code == code
