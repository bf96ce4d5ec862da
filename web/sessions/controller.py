"""`/sessions`: conversations of a user with one agent."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
from litestar import Controller, Request, get, post

from runtime import db
from runtime.tables import Agent, ChatSession, Message
from web.auth.guards import requires_tenant_member
from web.auth.identity import Principal
from web.deps import found, principal


class SessionCreate(msgspec.Struct, forbid_unknown_fields=True):
    agent_id: uuid.UUID
    title: str | None = None


class SessionOut(msgspec.Struct):
    id: uuid.UUID
    agent_id: uuid.UUID
    user_id: uuid.UUID | None
    title: str | None
    created_at: dt.datetime


class MessageOut(msgspec.Struct):
    id: uuid.UUID
    role: str
    content: str
    execution_id: uuid.UUID | None
    created_at: dt.datetime


COLUMNS = (
    ChatSession.id,
    ChatSession.agent.as_alias("agent_id"),
    ChatSession.user.as_alias("user_id"),
    ChatSession.title,
    ChatSession.created_at,
)


def visible(me: Principal):
    """Sessions the caller may see: a user its own, a tenant admin all of the tenant."""
    where = ChatSession.tenant == me.tenant_id
    return where if me.role == "tenant_admin" else where & (ChatSession.user == me.id)


class SessionController(Controller):
    """Open, list and read conversations."""

    path = "/sessions"
    guards = [requires_tenant_member]
    tags = ["sessions"]

    @post("/", status_code=201)
    async def create_session(self, request: Request, data: SessionCreate) -> SessionOut:
        """Start a conversation with an active agent of the tenant."""
        me = principal(request)
        async with db.scope(me.tenant_id):
            found(
                await Agent.select(Agent.id)
                .where(
                    (Agent.id == data.agent_id) & (Agent.tenant == me.tenant_id) & Agent.is_active.eq(True)
                )
                .first(),
                "Agent",
            )
            session = ChatSession(tenant=me.tenant_id, agent=data.agent_id, user=me.id, title=data.title)
            await ChatSession.insert(session)
            row = await ChatSession.select(*COLUMNS).where(ChatSession.id == session.id).first()
        return msgspec.convert(row, SessionOut)

    @get("/")
    async def list_sessions(self, request: Request) -> list[SessionOut]:
        """The caller's conversations (a tenant admin sees the whole tenant's), newest first."""
        me = principal(request)
        async with db.scope(me.tenant_id):
            rows = (
                await ChatSession.select(*COLUMNS)
                .where(visible(me))
                .order_by(ChatSession.created_at, ascending=False)
                .limit(500)
            )
        return msgspec.convert(rows, list[SessionOut])

    @get("/{session_id:uuid}/messages")
    async def list_messages(self, request: Request, session_id: uuid.UUID) -> list[MessageOut]:
        """A conversation's history in order."""
        me = principal(request)
        async with db.scope(me.tenant_id):
            found(
                await ChatSession.select(ChatSession.id)
                .where(visible(me) & (ChatSession.id == session_id))
                .first(),
                "Session",
            )
            rows = (
                await Message.select(
                    Message.id, Message.role, Message.content, Message.execution_id, Message.created_at
                )
                .where((Message.session == session_id) & (Message.tenant == me.tenant_id))
                .order_by(Message.created_at)
            )
        return msgspec.convert(rows, list[MessageOut])
