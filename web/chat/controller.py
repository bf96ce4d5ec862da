"""`GET /api/v1/sessions/{session_id}/ws`: the chat WebSocket (CONTRACT.md).

Handshake checks, in order: Origin and authentication (`web.auth.sockets`), role (members
of a tenant; else 4403), session (the caller's tenant, and the caller's own unless tenant
admin; else an error frame and 4404). Then `ready`, and `ChatConnection` serves the frames.
"""

from __future__ import annotations

import uuid

from litestar import WebSocket, websocket

from runtime import db
from web.auth.identity import Principal
from web.auth.sockets import accept_authenticated
from web.chat import protocol as p
from web.chat.connection import ChatConnection

MEMBER_ROLES = ("tenant_admin", "user")


async def find_session(me: Principal, session_id: uuid.UUID) -> uuid.UUID | None:
    """The agent of the session when the caller may chat in it, else None."""
    async with db.scope(me.tenant_id):
        row = await db.fetchrow(
            "SELECT agent_id FROM sessions WHERE id = $1 AND tenant_id = $2 "
            "AND ($3::uuid IS NULL OR user_id = $3::uuid)",
            session_id,
            me.tenant_id,
            None if me.role == "tenant_admin" else me.id,
        )
    return None if row is None else row["agent_id"]


@websocket(
    "/sessions/{session_id:uuid}/ws",
    opt={"exclude_from_auth": True, "first_frame_auth": True},
    tags=["sessions"],
)
async def chat_socket(socket: WebSocket, session_id: uuid.UUID) -> None:
    """Live chat with the session's agent: send messages, watch replies stream."""
    me = await accept_authenticated(socket)
    if me is None:
        return
    if me.role not in MEMBER_ROLES:
        await socket.close(code=p.CLOSE_FORBIDDEN, reason="chat is for members of a workspace")
        return
    agent_id = await find_session(me, session_id)
    if agent_id is None:
        await socket.send_text(p.encode(p.Error("not_found", "Session not found.")))
        await socket.close(code=p.CLOSE_NOT_FOUND, reason="session not found")
        return
    state = socket.app.state
    await ChatConnection(socket, me, session_id, agent_id, state.relay, state.bus).serve()


__all__ = ["chat_socket"]
