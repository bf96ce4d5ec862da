"""`GET /api/v1/sessions/{session_id}/ws`: the chat WebSocket (docs/contract.md).

Handshake checks, in order: Origin (browsers; foreign -> 4403), authentication (bearer
header, or an `auth` first frame within 5 s; bad -> 4401), role (members of a tenant;
else 4403), session (the caller's tenant, and the caller's own unless tenant admin;
else an error frame and 4404). Then `ready`, and `ChatConnection` serves the frames.
"""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit

from litestar import WebSocket, websocket
from litestar.exceptions import NotAuthorizedException, WebSocketDisconnect

from runtime import db
from runtime.settings import Settings
from web.auth.identity import Principal
from web.auth.middleware import authenticate_token, bearer_token
from web.chat import protocol as p
from web.chat.connection import ChatConnection

MEMBER_ROLES = ("tenant_admin", "user")


def origin_allowed(socket: WebSocket, settings: Settings) -> bool:
    """No Origin (not a browser), the same host, or a configured origin."""
    origin = socket.headers.get("origin")
    if not origin:
        return True
    if urlsplit(origin).netloc == socket.headers.get("host", ""):
        return True
    own = f"http://{settings.http.host}:{settings.http.port}"
    return origin in (own, *settings.http.allowed_origins)


async def _token(socket: WebSocket) -> str | None:
    if (token := bearer_token(socket)) is not None:
        return token
    try:
        async with asyncio.timeout(p.AUTH_TIMEOUT_S):
            data = await socket.receive_data("text")
        frame = p.parse(data)
    except (TimeoutError, WebSocketDisconnect, p.FrameError):
        return None
    return frame.token if isinstance(frame, p.AuthFrame) else None


async def authenticate(socket: WebSocket) -> Principal | None:
    """The caller, from the handshake header or the first frame; None when unauthenticated."""
    token = await _token(socket)
    if token is None:
        return None
    try:
        return (await authenticate_token(token)).user
    except NotAuthorizedException:
        return None


async def accept_authenticated(socket: WebSocket) -> Principal | None:
    """Accept, check Origin (4403, CSWSH) and authenticate (4401); None once closed.

    Shared by every socket of the API (chat, live usage), so none can skip a step.
    """
    settings: Settings = socket.app.state.settings
    await socket.accept()
    if not origin_allowed(socket, settings):
        await socket.close(code=p.CLOSE_FORBIDDEN, reason="origin not allowed")
        return None
    me = await authenticate(socket)
    if me is None:
        await socket.close(code=p.CLOSE_UNAUTHORIZED, reason="unauthorized")
    return me


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
