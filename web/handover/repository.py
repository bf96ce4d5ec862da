"""SQL of the inbox and escalation rules; every function runs in the caller's `db.scope`."""

from __future__ import annotations

import uuid
from typing import Any

from runtime import db

INBOX_LIMIT = 200

_INBOX = """
SELECT s.id AS session_id, s.agent_id, a.name AS agent_name, s.user_id, eu.full_name AS user_name,
       s.title, s.hand, s.held_by, h.full_name AS holder_name, s.held_since, s.escalated_at,
       s.escalation_reason, s.updated_at,
       (SELECT m.content FROM messages m WHERE m.session_id = s.id AND m.tenant_id = $1
        ORDER BY m.created_at DESC LIMIT 1) AS last_message
FROM sessions s
JOIN agents a ON a.id = s.agent_id AND a.tenant_id = $1
LEFT JOIN users eu ON eu.id = s.user_id AND eu.tenant_id = $1
LEFT JOIN users h ON h.id = s.held_by AND h.tenant_id = $1
WHERE s.tenant_id = $1 AND s.hand <> 'agent'
  AND ($2::uuid IS NULL OR s.agent_id = $2::uuid)
  AND ($3::text IS NULL OR s.hand = $3::text)
  AND (NOT $4::boolean OR s.held_by IS NULL)
  AND ($5::uuid IS NULL OR s.held_by = $5::uuid)
ORDER BY s.updated_at DESC LIMIT $6
"""


async def inbox(
    tenant_id: uuid.UUID,
    agent_id: uuid.UUID | None,
    state: str | None,
    unassigned: bool,
    assignee: uuid.UUID | None,
) -> list[dict[str, Any]]:
    """The tenant's sessions that need or have a person, most recently active first."""
    rows = await db.fetch(_INBOX, tenant_id, agent_id, state, unassigned, assignee, INBOX_LIMIT)
    return [dict(r) for r in rows]


async def active_executions(tenant_id: uuid.UUID, session_id: uuid.UUID) -> list[uuid.UUID]:
    """The session's executions that have not ended, oldest first."""
    rows = await db.fetch(
        "SELECT id FROM executions WHERE session_id = $1 AND tenant_id = $2 "
        "AND status IN ('queued', 'pending', 'running') ORDER BY created_at, id",
        session_id,
        tenant_id,
    )
    return [r["id"] for r in rows]


async def recent_messages(tenant_id: uuid.UUID, session_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
    """The session's newest messages (role, content), newest first."""
    rows = await db.fetch(
        "SELECT role, content FROM messages WHERE session_id = $1 AND tenant_id = $2 "
        "ORDER BY created_at DESC, id DESC LIMIT $3",
        session_id,
        tenant_id,
        limit,
    )
    return [dict(r) for r in rows]


async def person_name(tenant_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """A user's display name."""
    row = await db.fetchrow(
        "SELECT full_name FROM users WHERE id = $1 AND tenant_id = $2", user_id, tenant_id
    )
    return row["full_name"] if row is not None else "Support"


async def rules(tenant_id: uuid.UUID) -> dict[str, Any] | None:
    """The tenant's escalation rules row."""
    row = await db.fetchrow(
        "SELECT keywords, failed_answers, sentiment_below, agent_tool FROM escalation_rules "
        "WHERE tenant_id = $1",
        tenant_id,
    )
    return None if row is None else dict(row)


async def save_rules(
    tenant_id: uuid.UUID,
    keywords: list[str],
    failed_answers: int | None,
    sentiment_below: float | None,
    agent_tool: bool,
) -> None:
    """Insert or replace the tenant's escalation rules."""
    await db.execute(
        "INSERT INTO escalation_rules (tenant_id, keywords, failed_answers, sentiment_below, agent_tool) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO UPDATE SET keywords = EXCLUDED.keywords, "
        "failed_answers = EXCLUDED.failed_answers, sentiment_below = EXCLUDED.sentiment_below, "
        "agent_tool = EXCLUDED.agent_tool, updated_at = now()",
        tenant_id,
        keywords,
        failed_answers,
        sentiment_below,
        agent_tool,
    )
