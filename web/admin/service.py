"""The app admin runs the platform: partners, every tenant, system rates, credit, dead letters.

Every call runs in the system scope: the console is cross-tenant by nature, and only app
admins reach it (role guard on every route).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import msgspec
from aio_pika.abc import AbstractChannel
from litestar.exceptions import NotFoundException

from ledger import budget_repository as brepo
from runtime import db, deadletters
from runtime.tables import Partner, SystemRate
from web import audit
from web.admin import repository as repo
from web.admin.schemas import AdminTenantPatch, PartnerCreate, RateCreate
from web.auth import repository as identities
from web.auth import service as auth
from web.auth.identity import Principal
from web.deps import found, utcnow
from web.tenant import lifecycle
from web.tenant import repository as tenants


class AdminService:
    """What an app admin does; audit rows name the admin."""

    def __init__(self, me: Principal, ip: str | None = None) -> None:
        self.me, self.ip = me, ip

    async def _audit(self, action: str, tenant_id: uuid.UUID | None = None, **details: Any) -> None:
        await audit.record(action, tenant_id=tenant_id, actor_id=self.me.id, **details)

    # --- partners --------------------------------------------------------------------------

    async def partners(self) -> list[dict[str, Any]]:
        """Every partner."""
        async with db.scope(system=True):
            return await repo.partners()

    async def create_partner(self, data: PartnerCreate) -> dict[str, Any]:
        """A partner, its house tenant and its first partner admin."""
        partner = Partner(
            name=data.name, commission_pct=data.commission_pct, commission_basis=data.commission_basis
        )
        async with db.scope(system=True):
            await repo.insert_partner(partner)
            # Every user has a tenant: partner admins live in their partner's house tenant.
            house = uuid.uuid4()
            await identities.insert_tenant(house, f"{data.name} (partner)", partner.id)
            user = await auth.create_user(
                tenant_id=house,
                email=data.admin_email,
                password=data.admin_password,
                full_name=data.admin_full_name or data.name,
                role="partner_admin",
                partner_id=partner.id,
            )
            await repo.set_partner_admin(partner.id, user["id"])
            await self._audit("partner.create", target_type="partner", target_id=partner.id)
            return found(await repo.partner(partner.id), "Partner")

    # --- tenants ---------------------------------------------------------------------------

    async def tenants(self) -> list[dict[str, Any]]:
        """Every tenant."""
        async with db.scope(system=True):
            return await tenants.tenants()

    async def update_tenant(self, tenant_id: uuid.UUID, data: AdminTenantPatch) -> dict[str, Any]:
        """Status, tier and concurrency limit of any tenant."""
        async with db.scope(system=True):
            found(await tenants.tenant(tenant_id), "Tenant")
            limits = {
                k: v for k in ("tier", "max_concurrency") if (v := getattr(data, k)) is not msgspec.UNSET
            }
            await tenants.update(tenant_id, limits, utcnow())
            if limits:
                await self._audit(
                    "tenant.update",
                    tenant_id,
                    target_type="tenant",
                    target_id=tenant_id,
                    fields=sorted(limits),
                )
            if data.status is not msgspec.UNSET:
                await lifecycle.set_status(tenant_id, data.status, self.me.id)
                await db.rescope(system=True)
            return found(await tenants.tenant(tenant_id), "Tenant")

    async def add_credit(self, tenant_id: uuid.UUID, amount: Decimal, note: str) -> Decimal:
        """Top up a tenant's prepaid credit (a tenant without a plan gets a prepaid one)."""
        async with db.scope(system=True):
            found(await tenants.tenant(tenant_id), "Tenant")
            balance = await brepo.add_credit(tenant_id, amount)
            await self._audit(
                "credit.top_up",
                tenant_id,
                target_type="tenant",
                target_id=tenant_id,
                ip=self.ip,
                amount=str(amount),
                note=note,
                credit_balance=str(balance),
            )
        return balance

    # --- system rates ----------------------------------------------------------------------

    async def rates(self) -> list[dict[str, Any]]:
        """Every version of every system rate, newest first."""
        async with db.scope(system=True):
            return await repo.rates()

    async def create_rate(self, data: RateCreate) -> dict[str, Any]:
        """A new version of a rate; the one it replaces ends where this one starts."""
        rate = SystemRate(
            model=data.model,
            resource_type=data.resource_type,
            unit=data.unit,
            rate=data.cost_rate,
            billing_rate=data.billing_rate,
            valid_from=data.valid_from or utcnow(),
        )
        async with db.scope(system=True):
            await repo.add_rate_version(rate)
            await self._audit("rate.create", target_type="system_rate", target_id=rate.id)
            return found(await repo.rate(rate.id), "Rate")

    # --- dead letters ----------------------------------------------------------------------

    async def dead_letters(self, limit: int) -> list[dict[str, Any]]:
        """The newest dead letters (at most `limit`, clamped to 1..500)."""
        async with db.scope(system=True):
            return await repo.dead_letters(max(1, min(limit, 500)))

    async def redrive(self, channel: AbstractChannel, dead_letter_id: uuid.UUID) -> dict[str, Any]:
        """Publish a dead letter again to where it first went."""
        row = await deadletters.redrive(channel, dead_letter_id)
        if row is None:
            raise NotFoundException("Dead letter not found.")
        async with db.scope(system=True):
            await self._audit("dead_letter.retry", target_type="dead_letter", target_id=dead_letter_id)
        return row
