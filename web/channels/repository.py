"""SQL of channels; every function runs in the caller's `db.scope` and filters by tenant
(`active` runs in the system scope: a webhook names only the channel id)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from runtime import db

COLUMNS = "id, tenant_id, agent_id, kind, name, phone_number_id, is_active, created_at"


async def insert(tenant_id: uuid.UUID, values: dict[str, Any], credentials: str) -> Any:
    return await db.fetchrow(
        "INSERT INTO channels (id, tenant_id, agent_id, kind, name, credentials, phone_number_id) "  # noqa: S608 (constant SQL)
        f"VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}",
        uuid.uuid4(),
        tenant_id,
        values["agent_id"],
        values["kind"],
        values["name"],
        credentials,
        values.get("phone_number_id"),
    )


async def listing(tenant_id: uuid.UUID) -> Sequence[Any]:
    return await db.fetch(
        f"SELECT {COLUMNS} FROM channels WHERE tenant_id = $1 ORDER BY created_at DESC",  # noqa: S608 (constant SQL)
        tenant_id,
    )


async def delete(tenant_id: uuid.UUID, channel_id: uuid.UUID) -> bool:
    done = await db.execute("DELETE FROM channels WHERE id = $1 AND tenant_id = $2", channel_id, tenant_id)
    return done.endswith(" 1")


async def active(channel_id: uuid.UUID, kind: str) -> Any:
    """An active channel of an active or suspended tenant (and active partner) with an active agent.

    A suspended tenant's channel is found so that its turn is refused `tenant_suspended` by
    admission, not lost as an unknown channel."""
    return await db.fetchrow(
        "SELECT c.id, c.tenant_id, c.agent_id, c.kind, c.name, c.credentials, t.partner_id "
        "FROM channels c JOIN tenants t ON t.id = c.tenant_id "
        "JOIN agents a ON a.id = c.agent_id AND a.tenant_id = c.tenant_id "
        "LEFT JOIN partners p ON p.id = t.partner_id "
        "WHERE c.id = $1 AND c.kind = $2 AND c.is_active AND a.is_active "
        "AND t.status IN ('active', 'suspended') "
        "AND (p.id IS NULL OR p.status = 'active')",
        channel_id,
        kind,
    )
