"""`GET /api/v1/widgets/{public_key}/ws`: the widget's chat socket (docs/channels.md).

It speaks the chat socket's frames (`web.chat.protocol`, served by the same
`ChatConnection`); only the handshake differs, because the caller is an anonymous visitor:

1. the widget must exist and be active (else an `error` frame `not_found`, close 4404);
2. Origin must be one of the widget's `allowed_origins` or the console's own host (its
   preview); a foreign or missing Origin gets an `error` frame `widget_origin_refused` and
   close 4403;
3. the first frame, within 5 s, is `{"type": "visit", "visitor": <token> | null}`; anything
   else closes 4401. A genuine token brings the visitor back to its session, else a new
   visitor and session start (at most 30 per minute per client IP and widget: else an
   `error` frame `visitor_rate_limited` and close 1013);
4. the server answers `{"type": "visitor", "token", "session_id", "messages"}` (the token to
   keep, the conversation so far), then `ready`, then chat frames as on the chat socket.
   Each `message` also counts against the widget's per-visitor and per-key rates (an
   `error` frame `visitor_rate_limited` when over; the socket stays open); admission and
   budgets are the tenant's, as for any chat.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from web.channels import conversations
from web.chat import protocol as p
from web.chat.connection import ChatConnection
from web.executions.service import Rejected
from web.security import revocation
from web.widgets import service
from web.widgets.service import WidgetRefused

CLOSE_CODES = {403: p.CLOSE_FORBIDDEN, 404: p.CLOSE_NOT_FOUND, 429: p.CLOSE_TRY_AGAIN}


class VisitFrame(msgspec.Struct, tag_field="type", tag="visit"):
    visitor: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class VisitorFrame(p.ServerFrame, tag="visitor"):
    token: str
    session_id: uuid.UUID
    messages: list[dict[str, str]]


class WidgetConnection(ChatConnection):
    """A chat connection whose messages also count against the widget's rates."""

    widget: Any = None

    async def _message(self, frame: p.MessageFrame) -> None:
        await service.admit_message(self.widget, self.me)
        await super()._message(frame)


async def _refuse(socket: WebSocket, exc: Rejected) -> None:
    await socket.send_text(p.encode(p.Error(exc.code, exc.message)))
    await socket.close(code=CLOSE_CODES.get(exc.status, p.CLOSE_FORBIDDEN), reason=exc.code)


async def _visit_frame(socket: WebSocket) -> VisitFrame | None:
    """The first frame as a `visit`, or None (late, binary garbage, another frame, gone)."""
    try:
        async with asyncio.timeout(p.AUTH_TIMEOUT_S):
            event = await socket.receive()
    except (TimeoutError, WebSocketDisconnect):
        return None
    data: str | bytes = event.get("text") or event.get("bytes") or b""  # type: ignore[assignment]
    if event["type"] != "websocket.receive" or len(data) > p.MAX_FRAME_BYTES:
        return None
    try:
        return msgspec.json.decode(data, type=VisitFrame)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


@websocket(
    "/widgets/{public_key:str}/ws",
    opt={"exclude_from_auth": True, "first_frame_auth": True},
    tags=["widgets"],
)
async def widget_socket(socket: WebSocket, public_key: str) -> None:
    """A widget visitor's chat: origin-checked, anonymous, the chat socket's frames."""
    await socket.accept()
    try:
        widget = await service.public_widget(public_key)
        service.refuse_origin(widget, socket.headers.get("origin"), socket.headers.get("host"))
    except WidgetRefused as exc:
        await _refuse(socket, exc)
        return
    frame = await _visit_frame(socket)
    if frame is None:
        await socket.send_text(p.encode(p.Error("unauthorized", "Start with a `visit` frame.")))
        await socket.close(code=p.CLOSE_UNAUTHORIZED, reason="unauthorized")
        return
    try:
        visit = await service.visit(widget, frame.visitor, socket.client.host if socket.client else "")
    except WidgetRefused as exc:
        await _refuse(socket, exc)
        return
    revocation.track(socket, visit.me)  # a suspended tenant or partner closes it (4410)
    history = await conversations.history(widget["tenant_id"], visit.session_id) if not visit.new else []
    await socket.send_text(p.encode(VisitorFrame(visit.token, visit.session_id, history)))
    state = socket.app.state
    connection = WidgetConnection(
        socket, visit.me, visit.session_id, widget["agent_id"], state.relay, state.bus
    )
    connection.widget = widget
    await connection.serve()


__all__ = ["widget_socket"]
