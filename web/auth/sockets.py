"""Authentication of every WebSocket of the API (chat, live usage): one handshake, no skipped step.

Browsers send no Authorization header on a WebSocket, so a socket is accepted first and then
checked in order: Origin (a foreign one -> 4403, against cross-site WebSocket hijacking),
then a bearer header on the handshake or an `auth` first frame within 5 s (bad -> 4401).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from litestar import WebSocket
from litestar.exceptions import NotAuthorizedException, WebSocketDisconnect

from runtime.settings import Settings
from web.auth.identity import Principal
from web.auth.middleware import authenticate_token
from web.chat import protocol as p
from web.security import revocation


def _header(socket: WebSocket, name: bytes) -> str | None:
    """A handshake header read from the raw scope: `socket.headers` would parse all of them
    into a multidict that stays in the scope for the socket's life (~1.5 KB each of 10,000
    idle sockets, issue 11)."""
    for key, value in socket.scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def origin_allowed(socket: WebSocket, settings: Settings) -> bool:
    """No Origin (not a browser), the same host, or a configured origin."""
    origin = _header(socket, b"origin")
    if not origin:
        return True
    if urlsplit(origin).netloc == (_header(socket, b"host") or ""):
        return True
    own = f"http://{settings.http.host}:{settings.http.port}"
    return origin in (own, *settings.http.allowed_origins)


async def _token(socket: WebSocket) -> str | None:
    scheme, _, token = (_header(socket, b"authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():  # as web.auth.middleware.bearer_token
        return token.strip()
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

    Every socket handler starts with this call (its route carries `first_frame_auth`).
    """
    settings: Settings = socket.app.state.settings
    await socket.accept()
    if not origin_allowed(socket, settings):
        await socket.close(code=p.CLOSE_FORBIDDEN, reason="origin not allowed")
        return None
    me = await authenticate(socket)
    if me is None:
        await socket.close(code=p.CLOSE_UNAUTHORIZED, reason="unauthorized")
    else:
        revocation.track(socket, me)  # closed at once if the caller's access is revoked
    return me
