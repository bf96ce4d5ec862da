"""Budgets hold under concurrency: reservations at admission, settlement by the real ledger
process, release at the end, the sweeper as fallback. Real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from faststream.rabbit import RabbitBroker

from helpers.eventually import eventually
from helpers.ledger import (
    make_agent,
    make_tenant,
    priced_model,
    start_ledger_process,
    usage,
)
from helpers.rabbit import make_broker
from ledger import budget
from ledger import budget_repository as brepo
from ledger.pricing import AppliedRate, price
from runtime import db
from runtime.broker import topology
from runtime.publishing import publish_usage
from runtime.tables import Execution

D = Decimal
ROLE = "You answer briefly."
CONTENT = "hello"


@pytest.fixture(scope="module")
async def ledger_process(database: str) -> AsyncIterator[None]:
    """The real ledger consumer on this run's broker names (what the web process uses)."""
    proc = await start_ledger_process("--batch-size", "50", "--batch-ms", "20")
    yield
    proc.stop()


@pytest.fixture(scope="module")
async def broker(ledger_process: None) -> AsyncIterator[RabbitBroker]:
    b = make_broker()
    await b.connect()
    yield b
    await b.stop()


async def capped_tenant(calls: float, **tenant) -> tuple[uuid.UUID, uuid.UUID, Decimal]:
    """A tenant whose monthly cap fits `calls` calls of its agent; (tenant, agent, bound)."""
    model = await priced_model()
    tenant_id = await make_tenant(**tenant)
    agent_id = await make_agent(tenant_id, model, max_tokens=1000)
    input_tokens = budget.input_bound(budget.utf8_bytes(ROLE, CONTENT), 2)
    async with db.scope(tenant_id):
        bound = await budget.quote(tenant_id, model, input_tokens, 1000) * budget.MAX_ATTEMPTS
    # The bound is the ledger's own price of those tokens at the rate in force (1.0 per 1k),
    # once per attempt the run may make.
    rate = AppliedRate(D("0.5"), "1k_tokens", D("1.0"), "1k_tokens")
    once = price(input_tokens, rate, None).tenant_cost + price(1000, rate, None).tenant_cost
    assert bound == once * budget.MAX_ATTEMPTS
    async with db.scope(system=True):
        await brepo.set_tenant_cap(tenant_id, (bound * D(str(calls))).quantize(D("0.000001")))
    return tenant_id, agent_id, bound


async def admit(
    tenant_id: uuid.UUID, agent_id: uuid.UUID, user_id: uuid.UUID | None = None
) -> tuple[uuid.UUID, str | None]:
    """One admission in its own transaction on a pooled connection: (execution, refusal code)."""
    execution_id = uuid.uuid4()
    try:
        async with db.scope(tenant_id):
            await budget.reserve(budget.Call(tenant_id, user_id, agent_id, execution_id, CONTENT))
    except budget.BudgetExceeded as exc:
        return execution_id, exc.code
    return execution_id, None


async def spend_of(tenant_id: uuid.UUID) -> brepo.Spend:
    async with db.scope(tenant_id):
        return await brepo.spend(tenant_id, None, budget.month_start(), per_user=False)


async def add_execution(tenant_id, agent_id, execution_id, status="running", usage_json=None) -> None:
    async with db.scope(tenant_id):
        await Execution.insert(
            Execution(
                id=execution_id,
                tenant=tenant_id,
                agent=agent_id,
                status=status,
                source="rest",
                usage=json.dumps(usage_json) if usage_json is not None else None,
            )
        )


async def finish(tenant_id, execution_id, status, usage_json=None) -> None:
    async with db.scope(tenant_id):
        await db.execute(
            "UPDATE executions SET status = $2, usage = $3::jsonb WHERE id = $1",
            execution_id,
            status,
            None if usage_json is None else json.dumps(usage_json),
        )


async def test_200_concurrent_admissions_against_a_cap_for_10_admit_exactly_10_and_settle_within_it(
    broker: RabbitBroker,
) -> None:
    tenant_id, agent_id, bound = await capped_tenant(10.5, credit=None)
    results = await asyncio.gather(*(admit(tenant_id, agent_id) for _ in range(200)))
    admitted = [e for e, code in results if code is None]
    refusals = {code for _, code in results if code is not None}
    assert len(admitted) == 10, f"admitted {len(admitted)} of 200 against a cap for 10"
    assert refusals == {"tenant_cap_reached"}
    before = await spend_of(tenant_id)
    assert before.tenant_spent == 0 and before.tenant_held == bound * 10

    # The real ledger process records what the calls really used (less than the bound).
    model = await brepo_model(admitted[0])
    events = []
    for execution_id in admitted:
        await add_execution(tenant_id, agent_id, execution_id)
        event = usage(tenant_id, model, 24, 600)
        event.execution_id = execution_id
        events.append(event)
    topo = topology()
    for event in events:
        await publish_usage(broker, topo, event)
    await eventually(
        lambda: spend_of(tenant_id),
        lambda s: s.tenant_spent == D("6.240000"),
        "the ledger to record 10 calls",
        timeout=30,
    )
    settled = await spend_of(tenant_id)
    # Settled in the entries' transaction: money moved from held to spent, never both.
    assert settled.tenant_spent + settled.tenant_held == bound * 10

    for execution_id in admitted:
        await finish(tenant_id, execution_id, "completed", {"input_tokens": 24, "output_tokens": 600})
        assert await budget.release(execution_id, tenant_id)
    after = await spend_of(tenant_id)
    cap = bound * D("10.5")
    assert after.tenant_held == 0 and after.tenant_spent <= cap

    # What the calls did not use is free again: exactly the calls that fit now are admitted.
    room = int((cap - after.tenant_spent) // bound)
    results = await asyncio.gather(*(admit(tenant_id, agent_id) for _ in range(50)))
    assert sum(code is None for _, code in results) == room == 8


async def brepo_model(execution_id: uuid.UUID) -> str:
    async with db.scope(system=True):
        row = await db.fetchrow("SELECT model FROM budget_reservations WHERE execution_id = $1", execution_id)
    assert row is not None
    return row["model"]


async def test_a_failed_call_releases_its_hold_once() -> None:
    tenant_id, agent_id, _ = await capped_tenant(1.5, credit=None)
    first, code = await admit(tenant_id, agent_id)
    assert code is None
    assert (await admit(tenant_id, agent_id))[1] == "tenant_cap_reached"
    await add_execution(tenant_id, agent_id, first, status="running")
    assert not await budget.release(first, tenant_id), "a running execution keeps its hold"
    await finish(tenant_id, first, "failed")
    assert await budget.release(first, tenant_id)
    assert not await budget.release(first, tenant_id), "released once"
    assert (await spend_of(tenant_id)).tenant_held == 0
    assert (await admit(tenant_id, agent_id))[1] is None, "the freed budget admits the next call"


async def test_the_sweeper_releases_what_an_actor_left_behind() -> None:
    tenant_id, agent_id, _ = await capped_tenant(1.5, credit=None)
    first, _ = await admit(tenant_id, agent_id)
    await add_execution(tenant_id, agent_id, first, status="cancelled")
    assert (await admit(tenant_id, agent_id))[1] == "tenant_cap_reached"
    assert await budget.sweep(older_than_s=0) >= 1
    assert (await admit(tenant_id, agent_id))[1] is None


async def test_prepaid_credit_bounds_admission_and_a_payment_method_lifts_it(database, localstripe) -> None:
    from billing import payments

    model = await priced_model()
    tenant_id = await make_tenant(credit="4.5")
    agent_id = await make_agent(tenant_id, model, max_tokens=1000)  # bound 3 x 1.04
    assert (await admit(tenant_id, agent_id))[1] is None
    assert (await admit(tenant_id, agent_id))[1] == "insufficient_credit"
    # A card added the real way (docs/billing.md): SetupIntent, Stripe.js's confirm, stored.
    intent = await payments.setup_intent(tenant_id)
    await localstripe.add_card(intent["id"], intent["client_secret"])
    await payments.add_from_setup_intent(tenant_id, intent["id"])
    assert (await admit(tenant_id, agent_id))[1] is None, "invoiced tenants are not prepaid"


async def test_a_tenant_without_limits_is_admitted_without_a_hold() -> None:
    model = await priced_model()
    tenant_id = await make_tenant(credit=None)
    agent_id = await make_agent(tenant_id, model)
    execution_id, code = await admit(tenant_id, agent_id)
    assert code is None
    assert (await spend_of(tenant_id)).tenant_held == 0


async def test_user_caps_bound_one_user_only() -> None:
    from runtime.tables import User

    tenant_id, agent_id, bound = await capped_tenant(100, credit=None)
    users = []
    for _ in range(2):
        user = User(
            email=f"cap-{uuid.uuid4().hex[:8]}@example.org",
            full_name="U",
            hashed_password="x",
            tenant=tenant_id,
            role="user",
        )
        async with db.scope(tenant_id):
            await User.insert(user)
        users.append(user.id)
    async with db.scope(tenant_id):
        await brepo.set_user_cap(tenant_id, users[0], bound * D("2.5"))
    results = await asyncio.gather(*(admit(tenant_id, agent_id, users[0]) for _ in range(20)))
    assert sum(code is None for _, code in results) == 2
    assert {code for _, code in results if code} == {"user_cap_reached"}
    assert (await admit(tenant_id, agent_id, users[1]))[1] is None, "other users are not capped"
