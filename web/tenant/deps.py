"""Providers of the tenant domain's services, built per request around the caller."""

from __future__ import annotations

from web.auth.identity import Principal
from web.tenant.budget import BudgetService
from web.tenant.limits import LimitsService
from web.tenant.service import TenantService


async def provide_tenant_service(me: Principal, ip: str | None) -> TenantService:
    """The caller's workspace."""
    return TenantService(me, ip)


async def provide_budget_service(me: Principal, ip: str | None) -> BudgetService:
    """The caller's tenant's budget."""
    return BudgetService(me, ip)


async def provide_limits_service(me: Principal) -> LimitsService:
    """The caller's tenant's limits."""
    return LimitsService(me)
