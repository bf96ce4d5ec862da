"""`/sessions/{id}/takeover`, `/sessions/{id}/handback`, `/inbox` and its socket
(docs/human-in-the-loop.md). Support people and tenant admins only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Literal

import msgspec
from litestar import Controller, WebSocket, get, post, websocket
from litestar.di import Provide
from litestar.exceptions import WebSocketDisconnect
from litestar.params import Parameter

from runtime.broker import inbox_key
from runtime.handover import ANSWERING_ROLES
from runtime.messages import InboxChanged
from web.auth.guards import requires_support
from web.auth.sockets import accept_authenticated
from web.chat import protocol as p
from web.handover.deps import provide_handover_service
from web.handover.schemas import HoldOut, InboxItem, TakeoverIn
from web.handover.service import HandoverService

log = logging.getLogger("hirebuddha.web")


class HandoverController(Controller):
    """Take a session over from the agent, and give it back."""

    path = "/sessions"
    guards = [requires_support]
    dependencies = {"handover_service": Provide(provide_handover_service)}
    tags = ["human in the loop"]

    @post("/{session_id:uuid}/takeover", status_code=200)
    async def takeover(
        self, handover_service: HandoverService, session_id: uuid.UUID, data: TakeoverIn | None = None
    ) -> HoldOut:
        """Pause the agent: a person answers this session until hand back (409 `session_held`
        when another person holds it)."""
        held, cancelled = await handover_service.takeover(session_id, (data or TakeoverIn()).on_running)
        return HoldOut(held.session_id, held.hand.value, held.held_by, held.holder_name, cancelled)

    @post("/{session_id:uuid}/handback", status_code=200)
    async def handback(self, handover_service: HandoverService, session_id: uuid.UUID) -> HoldOut:
        """Give the session back to the agent (409 `not_holder` when the caller does not hold it)."""
        held = await handover_service.handback(session_id)
        return HoldOut(held.session_id, held.hand.value, None, None)


class InboxController(Controller):
    """The tenant's conversations that need or have a person."""

    path = "/inbox"
    guards = [requires_support]
    dependencies = {"handover_service": Provide(provide_handover_service)}
    tags = ["human in the loop"]

    @get("/")
    async def inbox(
        self,
        handover_service: HandoverService,
        agent_id: uuid.UUID | None = None,
        hand: Literal["escalated", "human"] | None = Parameter(query="state", default=None),
        assignee: str | None = None,
    ) -> list[InboxItem]:
        """Escalated and taken-over sessions, most recently active first; filter by agent,
        state (`escalated`, `human`) and assignee (`me`, `none` or a user id)."""
        rows = await handover_service.inbox(agent_id, hand, assignee)
        return msgspec.convert(rows, list[InboxItem])


class InboxSocket:
    """One inbox socket: `inbox.changed` frames of the caller's tenant."""

    def __init__(self, socket: WebSocket) -> None:
        self.socket = socket
        self.out: asyncio.Queue[str] = asyncio.Queue(maxsize=p.SEND_BUFFER_FRAMES)

    def deliver(self, event: object, frame: p.ServerFrame) -> None:
        """Queue a frame (never blocks; a client too far behind loses the overflow and is closed)."""
        try:
            self.out.put_nowait(p.encode(frame))
        except asyncio.QueueFull:
            asyncio.get_running_loop().create_task(self.socket.close(code=p.CLOSE_TOO_SLOW))

    async def serve(self, key: str) -> None:
        relay = self.socket.app.state.relay
        await relay.subscribe_key(key, self)
        writer = asyncio.create_task(self._write())
        try:
            self.out.put_nowait('{"type":"ready"}')
            while True:
                data = await self.socket.receive_data("text")
                try:
                    frame = p.parse(data)
                except p.FrameError as exc:
                    self.out.put_nowait(p.encode(p.Error(exc.code, exc.message)))
                    continue
                reply = (
                    p.Pong() if isinstance(frame, p.PingFrame) else p.Error("bad_frame", "Only ping frames.")
                )
                self.out.put_nowait(p.encode(reply))
        except WebSocketDisconnect:
            pass
        finally:
            await relay.unsubscribe_key(key, self)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer

    async def _write(self) -> None:
        while True:
            await self.socket.send_text(await self.out.get())


@websocket("/inbox/ws", opt={"exclude_from_auth": True, "first_frame_auth": True}, tags=["human in the loop"])
async def inbox_socket(socket: WebSocket) -> None:
    """Live inbox: `inbox.changed {session_id, hand, held_by, reason, at}` per change."""
    me = await accept_authenticated(socket)
    if me is None:
        return
    if me.role not in ANSWERING_ROLES:
        await socket.close(code=p.CLOSE_FORBIDDEN, reason="the inbox is for support people")
        return
    await InboxSocket(socket).serve(inbox_key(me.tenant_id))


__all__ = ["HandoverController", "InboxController", "InboxChanged", "inbox_socket"]
