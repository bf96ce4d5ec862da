"""SQL of widgets; every function runs in the caller's `db.scope` and filters by tenant
(`by_key` runs in the system scope: a visitor names only the public key)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from runtime import db

COLUMNS = (
    "id, tenant_id, agent_id, name, public_key, allowed_origins, greeting, title, primary_color, "
    "text_color, visitor_rate_per_min, key_rate_per_min, is_active, created_at"
)
FIELDS = (
    "agent_id",
    "name",
    "allowed_origins",
    "greeting",
    "title",
    "primary_color",
    "text_color",
    "visitor_rate_per_min",
    "key_rate_per_min",
    "is_active",
)


async def insert(tenant_id: uuid.UUID, public_key: str, values: dict[str, Any]) -> Any:
    return await db.fetchrow(
        f"INSERT INTO widgets (id, tenant_id, public_key, {', '.join(FIELDS)}) "  # noqa: S608 (constant SQL)
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
        f"RETURNING {COLUMNS}",
        uuid.uuid4(),
        tenant_id,
        public_key,
        *(values[f] for f in FIELDS),
    )


async def update(tenant_id: uuid.UUID, widget_id: uuid.UUID, values: dict[str, Any]) -> Any:
    sets = ", ".join(f"{f} = ${i}" for i, f in enumerate(FIELDS, start=3))
    return await db.fetchrow(
        f"UPDATE widgets SET {sets}, updated_at = now() WHERE id = $1 AND tenant_id = $2 "  # noqa: S608 (constant SQL)
        f"RETURNING {COLUMNS}",
        widget_id,
        tenant_id,
        *(values[f] for f in FIELDS),
    )


async def listing(tenant_id: uuid.UUID) -> Sequence[Any]:
    return await db.fetch(
        f"SELECT {COLUMNS} FROM widgets WHERE tenant_id = $1 ORDER BY created_at DESC",  # noqa: S608 (constant SQL)
        tenant_id,
    )


async def one(tenant_id: uuid.UUID, widget_id: uuid.UUID) -> Any:
    return await db.fetchrow(
        f"SELECT {COLUMNS} FROM widgets WHERE id = $1 AND tenant_id = $2",  # noqa: S608 (constant SQL)
        widget_id,
        tenant_id,
    )


async def delete(tenant_id: uuid.UUID, widget_id: uuid.UUID) -> bool:
    done = await db.execute("DELETE FROM widgets WHERE id = $1 AND tenant_id = $2", widget_id, tenant_id)
    return done.endswith(" 1")


async def by_key(public_key: str) -> Any:
    """An active widget of an active or suspended tenant (and active partner) with an active agent.

    A suspended tenant's widget is found so that each message is refused `tenant_suspended`
    by admission (an error frame), not a widget that vanished."""
    return await db.fetchrow(
        f"SELECT {', '.join('w.' + c.strip() for c in COLUMNS.split(','))}, t.partner_id "  # noqa: S608 (constant SQL)
        "FROM widgets w JOIN tenants t ON t.id = w.tenant_id "
        "JOIN agents a ON a.id = w.agent_id AND a.tenant_id = w.tenant_id "
        "LEFT JOIN partners p ON p.id = t.partner_id "
        "WHERE w.public_key = $1 AND w.is_active AND a.is_active AND t.status IN ('active', 'suspended') "
        "AND (p.id IS NULL OR p.status = 'active')",
        public_key,
    )


async def visitor_session(
    tenant_id: uuid.UUID, widget_id: uuid.UUID, visitor_id: uuid.UUID, session_id: uuid.UUID
) -> bool:
    """True when `session_id` is that visitor's session of that widget."""
    row = await db.fetchrow(
        "SELECT 1 FROM channel_sessions WHERE session_id = $1 AND tenant_id = $2 AND channel_id = $3 "
        "AND external_id = $4 AND kind = 'widget'",
        session_id,
        tenant_id,
        widget_id,
        str(visitor_id),
    )
    return row is not None
