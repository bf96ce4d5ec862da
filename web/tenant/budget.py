"""A tenant admin's monthly spend caps (tenant and per user), and where the month stands.

The rules these caps feed (admission holds, settlement) are in `ledger.budget`; its
repository `ledger.budget_repository` holds the SQL both processes share.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from litestar.exceptions import NotFoundException

from ledger import budget
from ledger import budget_repository as brepo
from runtime import db
from web import audit
from web.auth.identity import Principal
from web.tenant.schemas import UserCap


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


class BudgetService:
    """The caller's tenant's caps; every call runs in its scope."""

    def __init__(self, me: Principal, ip: str | None = None) -> None:
        self.me, self.ip, self.tenant_id = me, ip, me.tenant_id

    async def overview(self) -> dict[str, Any]:
        """Caps, this month's spend and holds, prepaid credit."""
        async with db.scope(self.tenant_id):
            return await self._overview()

    async def _overview(self) -> dict[str, Any]:
        cap, users = await brepo.caps(self.tenant_id)
        start = budget.month_start()
        spend = await brepo.spend(self.tenant_id, None, start, per_user=False)
        limits = await brepo.lock_limits(self.tenant_id, None, lock=False)
        return {
            "monthly_cap": cap,
            "user_caps": users,
            "month_start": start,
            "spent": spend.tenant_spent,
            "held": spend.tenant_held,
            "credit_balance": spend.credit_balance,
            "prepaid": bool(limits and limits.prepaid),
        }

    async def set_caps(self, monthly_cap: Decimal | None, user_caps: list[UserCap]) -> dict[str, Any]:
        """Replace the tenant's cap (None: none) and set the listed users' caps."""
        async with db.scope(self.tenant_id):
            await brepo.set_tenant_cap(self.tenant_id, monthly_cap)
            for cap in user_caps:
                if not await brepo.set_user_cap(self.tenant_id, cap.user_id, cap.monthly_cap):
                    raise NotFoundException(f"User {cap.user_id} not found.")
            await audit.record(
                "budget.update",
                tenant_id=self.tenant_id,
                actor_id=self.me.id,
                target_type="tenant",
                target_id=self.tenant_id,
                ip=self.ip,
                monthly_cap=_text(monthly_cap),
                user_caps={str(c.user_id): _text(c.monthly_cap) for c in user_caps},
            )
            return await self._overview()

    async def set_user_cap(self, user_id: uuid.UUID, monthly_cap: Decimal | None) -> None:
        """Set or clear (None) one user's cap."""
        async with db.scope(self.tenant_id):
            if not await brepo.set_user_cap(self.tenant_id, user_id, monthly_cap):
                raise NotFoundException("User not found.")
            await audit.record(
                "budget.user_cap",
                tenant_id=self.tenant_id,
                actor_id=self.me.id,
                target_type="user",
                target_id=user_id,
                ip=self.ip,
                monthly_cap=_text(monthly_cap),
            )
