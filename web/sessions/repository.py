"""SQL of sessions and their messages; every function runs in the caller's `db.scope`.

`user_id=None` means "any user of the tenant" (a tenant admin sees the whole tenant's).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from runtime import db
from runtime.tables import ChatSession, Message

COLUMNS = (
    ChatSession.id,
    ChatSession.agent.as_alias("agent_id"),
    ChatSession.workflow.as_alias("workflow_id"),
    ChatSession.user.as_alias("user_id"),
    ChatSession.title,
    ChatSession.hand,
    ChatSession.created_at,
)
LISTING_LIMIT = 500


def _visible(tenant_id: uuid.UUID, user_id: uuid.UUID | None) -> Any:
    where = ChatSession.tenant == tenant_id
    return where if user_id is None else where & (ChatSession.user == user_id)


async def insert(session: ChatSession) -> dict[str, Any] | None:
    """Store a new session; returns its public columns."""
    await ChatSession.insert(session)
    return await ChatSession.select(*COLUMNS).where(ChatSession.id == session.id).first()


async def sessions(tenant_id: uuid.UUID, user_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """The newest sessions (at most LISTING_LIMIT)."""
    return (
        await ChatSession.select(*COLUMNS)
        .where(_visible(tenant_id, user_id))
        .order_by(ChatSession.created_at, ascending=False)
        .limit(LISTING_LIMIT)
    )


@dataclass(frozen=True)
class Target:
    """What a session runs: an agent or a workflow (exactly one is set)."""

    agent_id: uuid.UUID | None
    workflow_id: uuid.UUID | None


async def target_of(tenant_id: uuid.UUID, user_id: uuid.UUID | None, session_id: uuid.UUID) -> Target | None:
    """The agent or workflow of a visible session, None when there is no such session."""
    row = await db.fetchrow(
        "SELECT agent_id, workflow_id FROM sessions WHERE id = $1 AND tenant_id = $2 "
        "AND ($3::uuid IS NULL OR user_id = $3::uuid)",
        session_id,
        tenant_id,
        user_id,
    )
    return None if row is None else Target(row["agent_id"], row["workflow_id"])


async def messages(tenant_id: uuid.UUID, session_id: uuid.UUID) -> list[dict[str, Any]]:
    """A session's messages in order."""
    return (
        await Message.select(
            Message.id, Message.role, Message.content, Message.execution_id, Message.created_at
        )
        .where((Message.session == session_id) & (Message.tenant == tenant_id))
        .order_by(Message.created_at)
    )
