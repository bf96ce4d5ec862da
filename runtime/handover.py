"""Who answers a session: the agent or a person (docs/human-in-the-loop.md).

`sessions.hand` is the session's state, stored so restarts of web and actors change nothing:

    agent --escalate--> escalated --takeover--> human --handback--> agent
      \\__________________takeover_____________/

- `agent`: each user message starts an execution (the agent's actor answers).
- `escalated`: a rule or the agent's `escalate_to_human` tool asked for a person; the agent
  still answers until one takes over. The session is in the tenant's inbox.
- `human`: `held_by` holds it since `held_since`; user messages are stored and relayed to
  the person, no execution starts. One holder at a time (`take`'s UPDATE is the lock).

web takes and hands back (`take`, `give_back`) and routes messages (`route`); actors
escalate (`escalate`). Every function runs in the caller's `db.scope(tenant_id)` and also
filters by tenant in SQL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from runtime import db


class Hand(StrEnum):
    """`sessions.hand`."""

    AGENT = "agent"
    ESCALATED = "escalated"
    HUMAN = "human"


ANSWERING_ROLES = ("tenant_admin", "support")
"""Roles that may take over, answer and hand back a tenant's sessions."""


@dataclass(frozen=True)
class Holding:
    """A session's hand state with the names a frame needs."""

    session_id: uuid.UUID
    user_id: uuid.UUID | None
    """The end user (the session's owner)."""
    agent_id: uuid.UUID
    hand: Hand
    held_by: uuid.UUID | None
    holder_name: str | None


_HOLDING = (
    "SELECT s.id, s.user_id, s.agent_id, s.hand, s.held_by, u.full_name AS holder_name "
    "FROM sessions s LEFT JOIN users u ON u.id = s.held_by AND u.tenant_id = s.tenant_id "
    "WHERE s.id = $1 AND s.tenant_id = $2"
)


def _holding(row: Any) -> Holding:
    return Holding(
        row["id"], row["user_id"], row["agent_id"], Hand(row["hand"]), row["held_by"], row["holder_name"]
    )


async def holding(tenant_id: uuid.UUID, session_id: uuid.UUID, *, lock: bool = False) -> Holding | None:
    """The session's hand state (`lock`: FOR SHARE OF s, so a takeover waits for the caller's
    transaction and a message is routed by the state it commits under)."""
    sql = _HOLDING + (" FOR SHARE OF s" if lock else "")
    row = await db.fetchrow(sql, session_id, tenant_id)
    return None if row is None else _holding(row)


async def take(tenant_id: uuid.UUID, session_id: uuid.UUID, person: uuid.UUID) -> Holding | None:
    """agent | escalated -> human, held by `person` (again: nothing changes). None when
    someone else holds it or there is no such session (`holding` tells which)."""
    row = await db.fetchrow(
        "UPDATE sessions SET hand = 'human', held_by = $3, "
        "held_since = CASE WHEN held_by = $3 THEN held_since ELSE now() END, updated_at = now() "
        "WHERE id = $1 AND tenant_id = $2 AND (held_by IS NULL OR held_by = $3) RETURNING id",
        session_id,
        tenant_id,
        person,
    )
    return None if row is None else await holding(tenant_id, session_id)


async def give_back(tenant_id: uuid.UUID, session_id: uuid.UUID, person: uuid.UUID | None) -> bool:
    """human -> agent (the escalation is answered too). `person` None: whoever holds it (a
    tenant admin releasing a colleague's session). False when not held (by `person`)."""
    done = await db.execute(
        "UPDATE sessions SET hand = 'agent', held_by = NULL, held_since = NULL, escalated_at = NULL, "
        "escalation_reason = NULL, updated_at = now() WHERE id = $1 AND tenant_id = $2 "
        "AND hand = 'human' AND ($3::uuid IS NULL OR held_by = $3::uuid)",
        session_id,
        tenant_id,
        person,
    )
    return done.endswith(" 1")


async def escalate(tenant_id: uuid.UUID, session_id: uuid.UUID, reason: str) -> bool:
    """agent -> escalated with `reason`; False when it is escalated or held already."""
    done = await db.execute(
        "UPDATE sessions SET hand = 'escalated', escalated_at = now(), escalation_reason = $3, "
        "updated_at = now() WHERE id = $1 AND tenant_id = $2 AND hand = 'agent'",
        session_id,
        tenant_id,
        reason[:1000],
    )
    return done.endswith(" 1")


async def write_message(
    tenant_id: uuid.UUID,
    session_id: uuid.UUID,
    role: str,
    content: str,
    client_id: str | None,
    author_id: uuid.UUID | None,
) -> tuple[uuid.UUID, bool]:
    """Store a message no execution answers: (its id, whether it is new). A repeated
    `client_id` of the session returns the earlier message."""
    message_id = uuid.uuid4()
    row = await db.fetchrow(
        "INSERT INTO messages (id, tenant_id, session_id, execution_id, role, content, client_id, author_id) "
        "VALUES ($1, $2, $3, NULL, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id",
        message_id,
        tenant_id,
        session_id,
        role,
        content,
        client_id,
        author_id,
    )
    if row is not None:
        return message_id, True
    earlier = await db.fetchrow(
        "SELECT id FROM messages WHERE session_id = $1 AND client_id = $2 AND tenant_id = $3",
        session_id,
        client_id,
        tenant_id,
    )
    assert earlier is not None  # the conflict was on (session_id, client_id)
    return earlier["id"], False


async def rules(tenant_id: uuid.UUID) -> Any:
    """The tenant's escalation rules row (keywords, failed_answers, sentiment_below) or None."""
    return await db.fetchrow(
        "SELECT keywords, failed_answers, sentiment_below, agent_tool FROM escalation_rules "
        "WHERE tenant_id = $1",
        tenant_id,
    )


async def recipients(tenant_id: uuid.UUID) -> list[str]:
    """Emails of the tenant's active people who answer conversations."""
    rows = await db.fetch(
        "SELECT email FROM users WHERE tenant_id = $1 AND is_active AND role = ANY($2::text[]) "
        "ORDER BY email",
        tenant_id,
        list(ANSWERING_ROLES),
    )
    return [r["email"] for r in rows]
