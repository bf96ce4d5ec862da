"""SQL of agents; every function runs in the caller's `db.scope` and filters by tenant."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

import msgspec

from runtime import db
from runtime.tables import Agent

# The reads are plain SQL: piccolo compiled the listing's query on every request, about a
# tenth of the web's CPU for `GET /agents` (py-spy at 500 requests/s, issue 11).
_SELECT = (
    "SELECT id, tenant_id, name, role, llm_config, output_schema, double_texting, is_active, "
    "created_at, updated_at, slug FROM agents "
)
_JSON = ("llm_config", "output_schema")


def _decoded(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as a dict, its JSONB columns (text over asyncpg) decoded."""
    out = dict(row)
    for key in _JSON:
        if out[key] is not None:
            out[key] = msgspec.json.decode(out[key])
    return out


def _one_of(tenant_id: uuid.UUID, agent_id: uuid.UUID) -> Any:
    return (Agent.id == agent_id) & (Agent.tenant == tenant_id)


async def agents(tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """The tenant's agents, newest first (JSON columns decoded)."""
    rows = await db.fetch(_SELECT + "WHERE tenant_id = $1 ORDER BY created_at DESC", tenant_id)
    return [_decoded(r) for r in rows]


async def agent(tenant_id: uuid.UUID, agent_id: uuid.UUID) -> dict[str, Any] | None:
    """One agent of the tenant (JSON columns decoded)."""
    row = await db.fetchrow(_SELECT + "WHERE id = $1 AND tenant_id = $2", agent_id, tenant_id)
    return None if row is None else _decoded(row)


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
