"""Providers of the admin domain."""

from __future__ import annotations

from web.admin.service import AdminService
from web.auth.identity import Principal


async def provide_admin_service(me: Principal, ip: str | None) -> AdminService:
    """The app admin's console."""
    return AdminService(me, ip)
