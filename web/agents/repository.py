"""SQL of agents; every function runs in the caller's `db.scope` and filters by tenant."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from runtime.tables import Agent

COLUMNS = (
    Agent.id,
    Agent.tenant.as_alias("tenant_id"),
    Agent.name,
    Agent.role,
    Agent.llm_config,
    Agent.output_schema,
    Agent.double_texting,
    Agent.is_active,
    Agent.created_at,
    Agent.updated_at,
    Agent.slug,
)


def _one_of(tenant_id: uuid.UUID, agent_id: uuid.UUID) -> Any:
    return (Agent.id == agent_id) & (Agent.tenant == tenant_id)


async def agents(tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """The tenant's agents, newest first (JSON columns decoded)."""
    return (
        await Agent.select(*COLUMNS)
        .where(Agent.tenant == tenant_id)
        .order_by(Agent.created_at, ascending=False)
        .output(load_json=True)
    )


async def agent(tenant_id: uuid.UUID, agent_id: uuid.UUID) -> dict[str, Any] | None:
    """One agent of the tenant (JSON columns decoded)."""
    return await Agent.select(*COLUMNS).where(_one_of(tenant_id, agent_id)).first().output(load_json=True)


async def exists(tenant_id: uuid.UUID, agent_id: uuid.UUID, *, active: bool = False) -> bool:
    """The agent is the tenant's (and, with `active`, switched on)."""
    where = _one_of(tenant_id, agent_id)
    if active:
        where &= Agent.is_active.eq(True)
    return await Agent.select(Agent.id).where(where).first() is not None


async def insert(agent: Agent) -> None:
    """Store a new agent."""
    await Agent.insert(agent)


async def update(tenant_id: uuid.UUID, agent_id: uuid.UUID, changes: dict[str, Any], at: dt.datetime) -> None:
    """Set these columns (by name, JSON already encoded) and `updated_at`."""
    if changes:
        values = {getattr(Agent, k): v for k, v in changes.items()}
        await Agent.update({**values, Agent.updated_at: at}).where(_one_of(tenant_id, agent_id))


async def delete(tenant_id: uuid.UUID, agent_id: uuid.UUID) -> None:
    """Delete an agent (its sessions cascade; executions and the ledger keep their records)."""
    await Agent.delete().where(_one_of(tenant_id, agent_id))
