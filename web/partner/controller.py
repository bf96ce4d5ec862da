"""`/partner/*`: a sales partner's tenants, prices and earnings (never their agents or chats)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

import msgspec
from litestar import Controller, Request, get, patch, post, put
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Parameter

from runtime import db
from runtime.tables import PartnerRate, SystemRate, Tenant
from web import audit
from web.auth.guards import requires_partner_admin
from web.auth.identity import Principal
from web.deps import found, principal, utcnow
from web.partner import service
from web.partner.schemas import (
    EarningsOut,
    PartnerRateIn,
    PartnerRateOut,
    PartnerTenantOut,
    TenantCreate,
    TenantEarnings,
    TenantStatusPatch,
)

RATES = """
SELECT s.id AS system_rate_id, s.model, s.resource_type, s.unit, s.rate AS cost_rate,
       s.billing_rate, p.rate
FROM system_rates s
LEFT JOIN partner_rates p ON p.system_rate_id = s.id AND p.partner_id = $1 AND p.valid_to IS NULL
WHERE s.valid_to IS NULL AND s.is_active
ORDER BY s.model, s.resource_type
"""

EARNINGS = """
SELECT t.id AS tenant_id, t.name,
       COALESCE(SUM(e.tenant_cost), 0) AS tenant_cost,
       COALESCE(SUM(e.partner_commission), 0) AS partner_commission
FROM tenants t
LEFT JOIN ledger_entries e ON e.tenant_id = t.id AND e.partner_id = $1
     AND ($2::timestamptz IS NULL OR e.created_at >= $2)
     AND ($3::timestamptz IS NULL OR e.created_at < $3)
WHERE t.partner_id = $1
GROUP BY t.id, t.name ORDER BY t.name
"""


def _partner(request: Request) -> tuple[Principal, uuid.UUID]:
    me = principal(request)
    if me.partner_id is None:
        raise PermissionDeniedException("This account is not attached to a partner.")
    return me, me.partner_id


class PartnerController(Controller):
    """Everything a partner admin does; RLS limits the partner scope to its own tenants."""

    path = "/partner"
    guards = [requires_partner_admin]
    tags = ["partner"]

    @get("/tenants")
    async def list_tenants(self, request: Request) -> list[PartnerTenantOut]:
        """The partner's tenants."""
        _, partner_id = _partner(request)
        async with db.scope(partner_id=partner_id):
            rows = (
                await Tenant.select(Tenant.id, Tenant.name, Tenant.status, Tenant.tier)
                .where(Tenant.partner == partner_id)
                .order_by(Tenant.created_at)
            )
        return msgspec.convert(rows, list[PartnerTenantOut])

    @post("/tenants", status_code=201)
    async def create_tenant(self, request: Request, data: TenantCreate) -> PartnerTenantOut:
        """A new tenant of this partner with its first tenant admin."""
        me, partner_id = _partner(request)
        async with db.scope(partner_id=partner_id):
            row = await service.create_tenant(
                name=data.name,
                partner_id=partner_id,
                admin_email=data.admin_email,
                admin_password=data.admin_password,
                admin_full_name=data.admin_full_name,
                actor_id=me.id,
            )
        return msgspec.convert(row, PartnerTenantOut)

    @patch("/tenants/{tenant_id:uuid}")
    async def patch_tenant(
        self, request: Request, tenant_id: uuid.UUID, data: TenantStatusPatch
    ) -> PartnerTenantOut:
        """Suspend (sessions end at once) or resume one of the partner's tenants."""
        me, partner_id = _partner(request)
        where = (Tenant.id == tenant_id) & (Tenant.partner == partner_id)
        async with db.scope(partner_id=partner_id):
            found(await Tenant.select(Tenant.id).where(where).first(), "Tenant")
            await service.set_status(tenant_id, data.status, me.id)
            await db.rescope(partner_id=partner_id)
            row = await Tenant.select(Tenant.id, Tenant.name, Tenant.status, Tenant.tier).where(where).first()
        return msgspec.convert(row, PartnerTenantOut)

    @get("/rates")
    async def list_rates(self, request: Request) -> list[PartnerRateOut]:
        """Rates in force: platform cost, default price and this partner's price."""
        _, partner_id = _partner(request)
        async with db.scope(partner_id=partner_id):
            rows = await db.fetch(RATES, partner_id)
        return msgspec.convert([dict(r) for r in rows], list[PartnerRateOut])

    @put("/rates")
    async def put_rates(self, request: Request, data: list[PartnerRateIn]) -> list[PartnerRateOut]:
        """Set prices; each change closes the old version and starts a new one (never edited)."""
        me, partner_id = _partner(request)
        at = utcnow()
        async with db.scope(partner_id=partner_id):
            for item in data:
                live = (
                    await SystemRate.select(SystemRate.id)
                    .where((SystemRate.id == item.system_rate_id) & SystemRate.valid_to.is_null())
                    .first()
                )
                if live is None:
                    raise NotFoundException(f"System rate {item.system_rate_id} not found or retired.")
                current = (
                    (PartnerRate.partner == partner_id)
                    & (PartnerRate.system_rate == item.system_rate_id)
                    & PartnerRate.valid_to.is_null()
                )
                await PartnerRate.update({PartnerRate.valid_to: at}).where(current)
                await PartnerRate.insert(
                    PartnerRate(
                        partner=partner_id, system_rate=item.system_rate_id, rate=item.rate, valid_from=at
                    )
                )
            # The audit row belongs to the partner's house tenant (audit_log is tenant-scoped).
            await db.rescope(me.tenant_id)
            await audit.record(
                "partner.rates_update",
                tenant_id=me.tenant_id,
                actor_id=me.id,
                target_type="partner",
                target_id=partner_id,
                system_rate_ids=[str(item.system_rate_id) for item in data],
            )
            await db.rescope(partner_id=partner_id)
            rows = await db.fetch(RATES, partner_id)
        return msgspec.convert([dict(r) for r in rows], list[PartnerRateOut])

    @get("/earnings")
    async def earnings(
        self,
        request: Request,
        from_: Annotated[dt.datetime | None, Parameter(query="from")] = None,
        to: dt.datetime | None = None,
    ) -> EarningsOut:
        """Commission and tenant spend per tenant over a period (default: all time)."""
        _, partner_id = _partner(request)
        async with db.scope(partner_id=partner_id):
            rows = await db.fetch(EARNINGS, partner_id, from_, to)
        tenants = msgspec.convert([dict(r) for r in rows], list[TenantEarnings])
        total = sum((t.partner_commission for t in tenants), Decimal("0"))
        return EarningsOut(total_commission=total, tenants=tenants)
