"""`GET /api/v1/sessions/{session_id}/ws`: the chat WebSocket (docs/contract.md).

Handshake checks, in order: Origin and authentication (`web.auth.sockets`), role (members
of a tenant; else 4403), session (the caller's tenant, and the caller's own unless tenant
admin; else an error frame and 4404). Then `ready`, and `ChatConnection` serves the frames.
"""

from __future__ import annotations

import uuid

from litestar import WebSocket, websocket

from web.auth.sockets import accept_authenticated
from web.chat import protocol as p
from web.chat.connection import ChatConnection
from web.sessions.service import SessionService

MEMBER_ROLES = ("tenant_admin", "support", "user")


@websocket(
    "/sessions/{session_id:uuid}/ws",
    opt={"exclude_from_auth": True, "first_frame_auth": True},
    tags=["sessions"],
)
async def chat_socket(socket: WebSocket, session_id: uuid.UUID) -> None:
    """Live chat with the session's agent (or workflow): send messages, watch replies stream."""
    me = await accept_authenticated(socket)
    if me is None:
        return
    if me.role not in MEMBER_ROLES:
        await socket.close(code=p.CLOSE_FORBIDDEN, reason="chat is for members of a workspace")
        return
    target = await SessionService(me).target_of(session_id)
    if target is None:
        await socket.send_text(p.encode(p.Error("not_found", "Session not found.")))
        await socket.close(code=p.CLOSE_NOT_FOUND, reason="session not found")
        return
    agent_id, workflow_id = target.agent_id, target.workflow_id
    del target  # this frame lives as long as the socket: keep only what the connection needs
    # Nothing reads the handshake headers once the caller is known; an idle socket need not
    # keep them (10,000 idle sockets per process, issue 11).
    socket.scope["headers"] = []
    state = socket.app.state
    wait_s = state.settings.http.chat_queue_wait_s
    await ChatConnection(
        socket, me, session_id, agent_id, state.relay, state.bus, wait_s, workflow_id
    ).serve()


__all__ = ["chat_socket"]
