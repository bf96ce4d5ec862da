"""Providers of the human-in-the-loop domain."""

from __future__ import annotations

from litestar import Request

from web.auth.identity import Principal
from web.handover.service import HandoverService


async def provide_handover_service(me: Principal, request: Request) -> HandoverService:
    """The caller's side of the sessions it answers (publishing on the process's bus)."""
    return HandoverService(me, request.app.state.bus)
