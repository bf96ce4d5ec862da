"""Conversations of a user with one agent or one workflow: a user sees its own, a tenant
admin the tenant's."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.exceptions import NotFoundException, ValidationException

from runtime import db
from runtime.handover import ANSWERING_ROLES
from runtime.tables import ChatSession
from web.agents import repository as agents
from web.auth.identity import Principal
from web.deps import found
from web.sessions import repository as repo
from web.workflows import repository as workflows


class SessionService:
    """The caller's sessions; every query runs in its tenant's scope and filters by it."""

    def __init__(self, me: Principal) -> None:
        self.me, self.tenant_id = me, me.tenant_id
        # None: the whole tenant's sessions (tenant admin, support); else only the caller's own.
        self.owner = None if me.role in ANSWERING_ROLES else me.id

    async def open(
        self, agent_id: uuid.UUID | None, title: str | None, *, workflow_id: uuid.UUID | None = None
    ) -> dict[str, Any]:
        """Start a conversation with an active agent, or an active workflow, of the tenant."""
        if (agent_id is None) == (workflow_id is None):
            raise ValidationException("Give exactly one of agent_id and workflow_id.", status_code=422)
        async with db.scope(self.tenant_id):
            if agent_id is not None and not await agents.exists(self.tenant_id, agent_id, active=True):
                raise NotFoundException("Agent not found.")
            workflow = None if workflow_id is None else await workflows.workflow(self.tenant_id, workflow_id)
            if workflow_id is not None and not (workflow or {}).get("is_active"):
                raise NotFoundException("Workflow not found or inactive.")
            session = ChatSession(
                tenant=self.tenant_id, agent=agent_id, workflow=workflow_id, user=self.me.id, title=title
            )
            return found(await repo.insert(session), "Session")

    async def listing(self) -> list[dict[str, Any]]:
        """The visible conversations, newest first."""
        async with db.scope(self.tenant_id):
            return await repo.sessions(self.tenant_id, self.owner)

    async def target_of(self, session_id: uuid.UUID) -> repo.Target | None:
        """The agent or workflow of the session when the caller may chat in it, else None."""
        async with db.scope(self.tenant_id):
            return await repo.target_of(self.tenant_id, self.owner, session_id)

    async def messages(self, session_id: uuid.UUID) -> list[dict[str, Any]]:
        """A visible conversation's history in order."""
        async with db.scope(self.tenant_id):
            if await repo.target_of(self.tenant_id, self.owner, session_id) is None:
                raise NotFoundException("Session not found.")
            return await repo.messages(self.tenant_id, session_id)
