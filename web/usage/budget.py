"""Budget management: a tenant's monthly caps, and prepaid credit top-ups by the app admin.

`GET/PUT /tenant/budget`, `PUT /tenant/users/{id}/budget` (tenant admin) and
`POST /admin/tenants/{id}/credit` (app admin; recorded in the audit log with its note and
the new balance). The rules these feed are in `ledger.budget`.
"""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.exceptions import NotFoundException

from ledger import budget
from ledger import budget_repository as brepo
from runtime import db
from web import audit
from web.auth.guards import requires_app_admin, requires_tenant_admin
from web.deps import client_ip, principal
from web.usage.schemas import BudgetIn, BudgetOut, CreditIn, CreditOut, UserBudgetIn, UserCap


async def _budget(tenant_id: uuid.UUID) -> BudgetOut:
    """The tenant's caps and where it stands this month (inside its scope)."""
    cap, users = await brepo.caps(tenant_id)
    start = budget.month_start()
    spend = await brepo.spend(tenant_id, None, start, per_user=False)
    limits = await brepo.lock_limits(tenant_id, None, lock=False)
    return BudgetOut(
        monthly_cap=cap,
        user_caps=msgspec.convert(users, list[UserCap]),
        month_start=start,
        spent=spend.tenant_spent,
        held=spend.tenant_held,
        credit_balance=spend.credit_balance,
        prepaid=bool(limits and limits.prepaid),
    )


class BudgetController(Controller):
    """A tenant admin's monthly spend caps (tenant and per user)."""

    path = "/tenant"
    guards = [requires_tenant_admin]
    tags = ["usage"]

    @get("/budget")
    async def get_budget(self, request: Request) -> BudgetOut:
        """Caps, this month's spend and holds, prepaid credit."""
        me = principal(request)
        async with db.scope(me.tenant_id):
            return await _budget(me.tenant_id)

    @put("/budget")
    async def put_budget(self, request: Request, data: BudgetIn) -> BudgetOut:
        """Replace the tenant's monthly cap (null: none); set the listed users' caps."""
        me = principal(request)
        async with db.scope(me.tenant_id):
            await brepo.set_tenant_cap(me.tenant_id, data.monthly_cap)
            for cap in data.user_caps or ():
                if not await brepo.set_user_cap(me.tenant_id, cap.user_id, cap.monthly_cap):
                    raise NotFoundException(f"User {cap.user_id} not found.")
            await audit.record(
                "budget.update",
                tenant_id=me.tenant_id,
                actor_id=me.id,
                target_type="tenant",
                target_id=me.tenant_id,
                ip=client_ip(request),
                monthly_cap=None if data.monthly_cap is None else str(data.monthly_cap),
                user_caps={
                    str(c.user_id): None if c.monthly_cap is None else str(c.monthly_cap)
                    for c in data.user_caps or ()
                },
            )
            return await _budget(me.tenant_id)

    @put("/users/{user_id:uuid}/budget")
    async def put_user_budget(self, request: Request, user_id: uuid.UUID, data: UserBudgetIn) -> UserCap:
        """Set or clear (null) one user's monthly cap."""
        me = principal(request)
        async with db.scope(me.tenant_id):
            if not await brepo.set_user_cap(me.tenant_id, user_id, data.monthly_cap):
                raise NotFoundException("User not found.")
            await audit.record(
                "budget.user_cap",
                tenant_id=me.tenant_id,
                actor_id=me.id,
                target_type="user",
                target_id=user_id,
                ip=client_ip(request),
                monthly_cap=None if data.monthly_cap is None else str(data.monthly_cap),
            )
        return UserCap(user_id=user_id, monthly_cap=data.monthly_cap)


class CreditController(Controller):
    """The app admin tops up a tenant's prepaid credit."""

    path = "/admin/tenants"
    guards = [requires_app_admin]
    tags = ["admin"]

    @post("/{tenant_id:uuid}/credit", status_code=201)
    async def add_credit(self, request: Request, tenant_id: uuid.UUID, data: CreditIn) -> CreditOut:
        """Add `amount` to the tenant's credit (a tenant without a plan gets a prepaid one)."""
        me = principal(request)
        async with db.scope(system=True):
            if await db.fetchrow("SELECT 1 FROM tenants WHERE id = $1", tenant_id) is None:
                raise NotFoundException("Tenant not found.")
            balance = await brepo.add_credit(tenant_id, data.amount)
            await audit.record(
                "credit.top_up",
                tenant_id=tenant_id,
                actor_id=me.id,
                target_type="tenant",
                target_id=tenant_id,
                ip=client_ip(request),
                amount=str(data.amount),
                note=data.note,
                credit_balance=str(balance),
            )
        return CreditOut(tenant_id=tenant_id, credit_balance=balance)
