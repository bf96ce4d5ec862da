"""Providers of the partner domain."""

from __future__ import annotations

from web.auth.identity import Principal
from web.partner.service import PartnerService


async def provide_partner_service(me: Principal) -> PartnerService:
    """The caller's partner console (403 when the caller has no partner)."""
    return PartnerService(me)
