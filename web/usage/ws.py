"""`GET /api/v1/usage/ws`: live usage for dashboards (docs/contract.md "WebSocket: live usage").

Same handshake as the chat socket (Origin, then bearer header or `auth` first frame within
5 s; bad -> 4401). Partner admins see their tenants (with commission), tenant admins their
tenant (without platform cost or commission), app admins everything; other roles get 4403.
After `{"type":"ready"}` the server sends one `usage` frame per committed ledger entry. The
client may send `ping` (answered `pong`); any other frame gets an error frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from runtime import metrics
from runtime.messages import LiveUsage
from web.auth.sockets import accept_authenticated
from web.chat import protocol as p
from web.usage.live import UsageRelay, Viewer

log = logging.getLogger("hirebuddha.web")
_encode = msgspec.json.Encoder().encode
SEND_BUFFER_FRAMES = 4096
"""Frames queued for one socket; a dashboard that falls this far behind is closed (4008)."""


class UsageSocket:
    """One authenticated usage socket: filter, buffer, write."""

    def __init__(self, socket: WebSocket, viewer: Viewer) -> None:
        self.socket, self.viewer = socket, viewer
        self.out: asyncio.Queue[str] = asyncio.Queue(maxsize=SEND_BUFFER_FRAMES)
        self.closed = False

    def deliver(self, event: LiveUsage) -> None:
        """Queue the viewer's frame of `event` (never blocks; overflow closes the socket)."""
        self.deliver_many([event])

    def deliver_many(self, events: list[LiveUsage]) -> None:
        """Queue the viewer's frame of each event, one `usage` frame per entry as always."""
        for event in events:
            if self.closed:
                return
            frame = self.viewer.frame(event)
            if frame is not None:
                self.send(_encode(frame).decode())

    def send(self, text: str) -> None:
        """Queue one frame's text."""
        try:
            self.out.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("closing a usage socket that fell %d frames behind", SEND_BUFFER_FRAMES)
            self.closed = True
            asyncio.get_running_loop().create_task(self._close(p.CLOSE_TOO_SLOW, "client too slow"))

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.socket.close(code=code, reason=reason)

    async def _writer(self) -> None:
        while True:
            await self.socket.send_text(await self.out.get())

    async def serve(self, relay: UsageRelay) -> None:
        """Subscribe, say ready, answer client frames until the socket closes."""
        await relay.subscribe(self)
        writer = asyncio.create_task(self._writer())
        sockets = metrics.LIVE_SOCKETS.labels("usage")
        sockets.inc()
        try:
            self.send('{"type":"ready"}')
            while True:
                data = await self.socket.receive_data("text")
                try:
                    frame = p.parse(data)
                except p.FrameError as exc:
                    self.send(p.encode(p.Error(exc.code, exc.message)))
                    continue
                if isinstance(frame, p.PingFrame):
                    self.send(p.encode(p.Pong()))
                else:
                    self.send(p.encode(p.Error("bad_frame", "This socket only takes ping frames.")))
        except WebSocketDisconnect:
            pass
        finally:
            sockets.dec()
            await relay.unsubscribe(self)
            writer.cancel()


@websocket("/usage/ws", opt={"exclude_from_auth": True, "first_frame_auth": True}, tags=["usage"])
async def usage_socket(socket: WebSocket) -> None:
    """Live usage of what the caller may see, one frame per ledger entry."""
    me = await accept_authenticated(socket)
    if me is None:
        return
    viewer = Viewer.of(me)
    if viewer is None:
        await socket.close(code=p.CLOSE_FORBIDDEN, reason="live usage is for admins")
        return
    await UsageSocket(socket, viewer).serve(socket.app.state.usage_relay)


__all__ = ["usage_socket"]
