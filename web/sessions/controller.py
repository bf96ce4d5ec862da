"""`/sessions`: conversations of a user with one agent or one workflow."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, get, post
from litestar.di import Provide

from web.auth.guards import requires_tenant_member
from web.sessions.deps import provide_session_service
from web.sessions.schemas import MessageOut, SessionCreate, SessionOut
from web.sessions.service import SessionService


class SessionController(Controller):
    """Open, list and read conversations."""

    path = "/sessions"
    guards = [requires_tenant_member]
    dependencies = {"session_service": Provide(provide_session_service)}
    tags = ["sessions"]

    @post("/", status_code=201)
    async def create_session(self, session_service: SessionService, data: SessionCreate) -> SessionOut:
        """Start a conversation with an active agent, or an active workflow, of the tenant."""
        opened = await session_service.open(data.agent_id, data.title, workflow_id=data.workflow_id)
        return msgspec.convert(opened, SessionOut)

    @get("/")
    async def list_sessions(self, session_service: SessionService) -> list[SessionOut]:
        """The caller's conversations (a tenant admin sees the whole tenant's), newest first."""
        return msgspec.convert(await session_service.listing(), list[SessionOut])

    @get("/{session_id:uuid}/messages")
    async def list_messages(self, session_service: SessionService, session_id: uuid.UUID) -> list[MessageOut]:
        """A conversation's history in order."""
        return msgspec.convert(await session_service.messages(session_id), list[MessageOut])
