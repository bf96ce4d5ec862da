"""Providers of the sessions domain."""

from __future__ import annotations

from web.auth.identity import Principal
from web.sessions.service import SessionService


async def provide_session_service(me: Principal) -> SessionService:
    """The caller's sessions."""
    return SessionService(me)
