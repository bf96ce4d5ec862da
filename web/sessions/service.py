"""Conversations of a user with one agent: a user sees its own, a tenant admin the tenant's."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.exceptions import NotFoundException

from runtime import db
from runtime.handover import ANSWERING_ROLES
from runtime.tables import ChatSession
from web.agents import repository as agents
from web.auth.identity import Principal
from web.deps import found
from web.sessions import repository as repo


class SessionService:
    """The caller's sessions; every query runs in its tenant's scope and filters by it."""

    def __init__(self, me: Principal) -> None:
        self.me, self.tenant_id = me, me.tenant_id
        # None: the whole tenant's sessions (tenant admin, support); else only the caller's own.
        self.owner = None if me.role in ANSWERING_ROLES else me.id

    async def open(self, agent_id: uuid.UUID, title: str | None) -> dict[str, Any]:
        """Start a conversation with an active agent of the tenant."""
        async with db.scope(self.tenant_id):
            if not await agents.exists(self.tenant_id, agent_id, active=True):
                raise NotFoundException("Agent not found.")
            session = ChatSession(tenant=self.tenant_id, agent=agent_id, user=self.me.id, title=title)
            return found(await repo.insert(session), "Session")

    async def listing(self) -> list[dict[str, Any]]:
        """The visible conversations, newest first."""
        async with db.scope(self.tenant_id):
            return await repo.sessions(self.tenant_id, self.owner)

    async def agent_of(self, session_id: uuid.UUID) -> uuid.UUID | None:
        """The agent of the session when the caller may chat in it, else None."""
        async with db.scope(self.tenant_id):
            return await repo.agent_of(self.tenant_id, self.owner, session_id)

    async def messages(self, session_id: uuid.UUID) -> list[dict[str, Any]]:
        """A visible conversation's history in order."""
        async with db.scope(self.tenant_id):
            if await repo.agent_of(self.tenant_id, self.owner, session_id) is None:
                raise NotFoundException("Session not found.")
            return await repo.messages(self.tenant_id, session_id)
