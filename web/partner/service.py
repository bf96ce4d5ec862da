"""A sales partner's tenants, prices and earnings (never their agents or chats).

Runs in the partner's scope: row-level security limits it to the partner's own tenants.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from litestar.exceptions import NotFoundException, PermissionDeniedException

from runtime import db
from web import audit
from web.auth.identity import Principal
from web.deps import found, utcnow
from web.partner import repository as repo
from web.partner.schemas import PartnerRateIn, TenantCreate
from web.tenant import lifecycle
from web.tenant import repository as tenants


class PartnerService:
    """What a partner admin does; built only for a caller attached to a partner."""

    def __init__(self, me: Principal) -> None:
        if me.partner_id is None:
            raise PermissionDeniedException("This account is not attached to a partner.")
        self.me, self.partner_id = me, me.partner_id

    async def tenants(self) -> list[dict[str, Any]]:
        """The partner's tenants."""
        async with db.scope(partner_id=self.partner_id):
            return await tenants.tenants(self.partner_id)

    async def create_tenant(self, data: TenantCreate) -> dict[str, Any]:
        """A new tenant of this partner with its first tenant admin."""
        async with db.scope(partner_id=self.partner_id):
            return await lifecycle.create_tenant(
                name=data.name,
                partner_id=self.partner_id,
                admin_email=data.admin_email,
                admin_password=data.admin_password,
                admin_full_name=data.admin_full_name,
                actor_id=self.me.id,
            )

    async def set_status(self, tenant_id: uuid.UUID, status: str) -> dict[str, Any]:
        """Suspend (sessions end at once) or resume one of the partner's tenants."""
        async with db.scope(partner_id=self.partner_id):
            found(await tenants.tenant(tenant_id, self.partner_id), "Tenant")
            await lifecycle.set_status(tenant_id, status, self.me.id)
            await db.rescope(partner_id=self.partner_id)
            return found(await tenants.tenant(tenant_id, self.partner_id), "Tenant")

    async def rates(self) -> list[dict[str, Any]]:
        """Rates in force with this partner's prices."""
        async with db.scope(partner_id=self.partner_id):
            return await repo.rates(self.partner_id)

    async def set_rates(self, items: list[PartnerRateIn]) -> list[dict[str, Any]]:
        """Set prices; each change closes the old version and starts a new one (never edited)."""
        at = utcnow()
        async with db.scope(partner_id=self.partner_id):
            for item in items:
                if not await repo.system_rate_in_force(item.system_rate_id):
                    raise NotFoundException(f"System rate {item.system_rate_id} not found or retired.")
                await repo.replace_rate(self.partner_id, item.system_rate_id, item.rate, at)
            # The audit row belongs to the partner's house tenant (audit_log is tenant-scoped).
            await db.rescope(self.me.tenant_id)
            await audit.record(
                "partner.rates_update",
                tenant_id=self.me.tenant_id,
                actor_id=self.me.id,
                target_type="partner",
                target_id=self.partner_id,
                system_rate_ids=[str(item.system_rate_id) for item in items],
            )
            await db.rescope(partner_id=self.partner_id)
            return await repo.rates(self.partner_id)

    async def earnings(
        self, start: dt.datetime | None, end: dt.datetime | None
    ) -> tuple[Decimal, list[dict]]:
        """Total commission and, per tenant, spend and commission over [start, end)."""
        async with db.scope(partner_id=self.partner_id):
            rows = await repo.earnings(self.partner_id, start, end)
        return sum((r["partner_commission"] for r in rows), Decimal("0")), rows
