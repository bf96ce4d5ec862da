"""Ledger test data written straight to PostgreSQL (system scope), and a real ledger process."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from helpers.catalog import catalog_model
from ledger import repository as repo
from ledger.chain import Entry
from runtime import db
from runtime.messages import UsageRecorded
from runtime.tables import Partner, PartnerRate, Subscription, SystemRate, Tenant

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def model_name(tag: str = "m") -> str:
    """A model name no other test uses, so rates never collide."""
    return f"{tag}-{uuid.uuid4().hex[:10]}"


async def make_partner(pct: str = "20", basis: str = "margin") -> uuid.UUID:
    """A partner with `pct`% commission of margin or gross."""
    partner = Partner(name=f"P {uuid.uuid4().hex[:6]}", commission_pct=Decimal(pct), commission_basis=basis)
    async with db.scope(system=True):
        await Partner.insert(partner)
    return partner.id


async def make_tenant(partner_id: uuid.UUID | None = None, credit: str | None = "100") -> uuid.UUID:
    """A tenant (direct when no partner) with a subscription holding `credit` (None: no plan)."""
    tenant = Tenant(name=f"T {uuid.uuid4().hex[:6]}", partner=partner_id)
    async with db.scope(system=True):
        await Tenant.insert(tenant)
        if credit is not None:
            await Subscription.insert(
                Subscription(tenant=tenant.id, plan_name="prepaid", credit_balance=Decimal(credit))
            )
    return tenant.id


async def make_rate(
    model: str,
    resource_type: str = "input_tokens",
    *,
    cost: str,
    billing: str,
    unit: str = "1k_tokens",
    valid_from: datetime = EPOCH,
    valid_to: datetime | None = None,
) -> uuid.UUID:
    """One system rate version."""
    rate = SystemRate(
        model=model,
        resource_type=resource_type,
        unit=unit,
        rate=Decimal(cost),
        billing_rate=Decimal(billing),
        valid_from=valid_from,
        valid_to=valid_to,
    )
    async with db.scope(system=True):
        await SystemRate.insert(rate)
    await catalog_model(model)  # a priced model is one agents may name
    return rate.id


async def make_partner_rate(
    partner_id: uuid.UUID,
    system_rate_id: uuid.UUID,
    rate: str,
    *,
    valid_from: datetime = EPOCH,
    valid_to: datetime | None = None,
) -> uuid.UUID:
    """One partner rate version against a system rate."""
    row = PartnerRate(
        partner=partner_id,
        system_rate=system_rate_id,
        rate=Decimal(rate),
        valid_from=valid_from,
        valid_to=valid_to,
    )
    async with db.scope(system=True):
        await PartnerRate.insert(row)
    return row.id


def usage(
    tenant_id: uuid.UUID,
    model: str,
    input_tokens: int,
    output_tokens: int = 0,
    at: datetime | None = None,
) -> UsageRecorded:
    """A usage event of one LLM call."""
    return UsageRecorded(
        tenant_id=tenant_id,
        execution_id=uuid.uuid4(),
        agent_id=uuid.uuid4(),
        model=model,
        provider="fake",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        occurred_at=at or datetime.now(UTC),
    )


async def entries_of(tenant_id: uuid.UUID) -> list[Entry]:
    """The tenant's entries in chain order."""
    async with db.scope(system=True):
        return await repo.chain_page(tenant_id, None, 100_000)


async def credit_of(tenant_id: uuid.UUID) -> Decimal:
    """The tenant's prepaid credit balance."""
    async with db.scope(system=True):
        row = await db.fetchrow("SELECT credit_balance FROM subscriptions WHERE tenant_id = $1", tenant_id)
    assert row is not None
    return row["credit_balance"]


def later(t: datetime, **kw: float) -> datetime:
    """`t` plus a timedelta."""
    return t + timedelta(**kw)


async def start_ledger_process(*args: str, env: dict[str, str] | None = None):
    """A real `hirebuddha ledger` process, returned once it consumes (caller stops it)."""
    from conftest import Process
    from helpers.platform import START_S, wait_output

    proc = Process("ledger", *args, env=env)
    await wait_output(proc, "ledger consumer ready", START_S)
    return proc


async def make_agent(tenant_id: uuid.UUID, model: str, max_tokens: int | None = 1000) -> uuid.UUID:
    """An agent of the tenant on `model` with that output bound."""
    from runtime.tables import Agent

    config: dict[str, object] = {"provider": "demo", "model": model}
    if max_tokens is not None:
        config["max_tokens"] = max_tokens
    agent = Agent(tenant=tenant_id, name="Budgeted", role="You answer briefly.", llm_config=config)
    async with db.scope(system=True):
        await Agent.insert(agent)
    return agent.id


async def priced_model(cost: str = "0.5", billing: str = "1.0", provider: str = "demo") -> str:
    """A fresh catalog model of `provider` with input and output rates (per 1k tokens) in
    force since EPOCH."""
    model = await catalog_model(model_name("b"), provider)
    await make_rate(model, "input_tokens", cost=cost, billing=billing)
    await make_rate(model, "output_tokens", cost=cost, billing=billing)
    return model
