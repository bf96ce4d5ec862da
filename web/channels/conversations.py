"""The session a widget visitor or an external chat (Telegram, WhatsApp) talks in.

One session per (channel, external id): an ordinary `sessions` row without a user, so the
conversation is in the tenant's history like any other (a tenant admin sees it), plus a
`channel_sessions` row saying where it comes from. The people on the other side are not
users of the tenant: they act as a `Principal` of role `visitor` whose id is stable per
(channel, external id) (`visitor_principal`), which admission records as the executions'
`user_id` and which sees only its own executions.
"""

from __future__ import annotations

import uuid
from typing import Any

from runtime import db
from web.auth.identity import Principal

VISITOR = "visitor"
"""The role of a widget visitor or an external chat: no console, no REST, its session only."""
NAMESPACE = uuid.UUID("5b1e3c52-63f4-4c21-9d0e-6f3f3c1d2a19")


def visitor_id(channel_id: uuid.UUID, external_id: str) -> uuid.UUID:
    """The stable id of the person behind an external id of a channel."""
    return uuid.uuid5(NAMESPACE, f"{channel_id}:{external_id}")


def visitor_principal(tenant_id: uuid.UUID, partner_id: uuid.UUID | None, visitor: uuid.UUID) -> Principal:
    """The caller admission sees for a visitor (partner: so suspending it closes the socket)."""
    return Principal(visitor, tenant_id, VISITOR, partner_id)


async def session_for(
    tenant_id: uuid.UUID, agent_id: uuid.UUID, kind: str, channel_id: uuid.UUID, external_id: str, title: str
) -> uuid.UUID:
    """The session of (channel, external id), created on first contact (one, whatever races)."""
    async with db.scope(tenant_id):
        # Serializes first contacts of the same chat: two webhooks at once make one session.
        await db.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", f"{channel_id}:{external_id}"
        )
        row = await db.fetchrow(
            "SELECT session_id FROM channel_sessions "
            "WHERE channel_id = $1 AND external_id = $2 AND tenant_id = $3",
            channel_id,
            external_id,
            tenant_id,
        )
        if row is not None:
            return row["session_id"]
        session_id = uuid.uuid4()
        await db.execute(
            "INSERT INTO sessions (id, tenant_id, agent_id, user_id, title, created_at, updated_at) "
            "VALUES ($1, $2, $3, NULL, $4, now(), now())",
            session_id,
            tenant_id,
            agent_id,
            title[:200],
        )
        await db.execute(
            "INSERT INTO channel_sessions (session_id, tenant_id, kind, channel_id, external_id) "
            "VALUES ($1, $2, $3, $4, $5)",
            session_id,
            tenant_id,
            kind,
            channel_id,
            external_id,
        )
    return session_id


async def history(tenant_id: uuid.UUID, session_id: uuid.UUID, limit: int = 50) -> list[dict[str, Any]]:
    """The session's last `limit` messages, oldest first (what a returning visitor sees)."""
    async with db.scope(tenant_id):
        rows = await db.fetch(
            "SELECT role, content FROM (SELECT role, content, created_at FROM messages "
            "WHERE session_id = $1 AND tenant_id = $2 ORDER BY created_at DESC LIMIT $3) m "
            "ORDER BY created_at",
            session_id,
            tenant_id,
            limit,
        )
    return [dict(r) for r in rows]
