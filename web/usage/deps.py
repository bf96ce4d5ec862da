"""Providers of the usage domain."""

from __future__ import annotations

from web.auth.identity import Principal
from web.usage.service import UsageService


async def provide_usage_service(me: Principal) -> UsageService:
    """Usage and ledger entries as the caller may see them."""
    return UsageService(me)
