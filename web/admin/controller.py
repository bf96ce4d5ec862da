"""`/admin/*`: the app admin runs partners, tenants and rates (providers: web.providers,
models: web.models)."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, Request, get, patch, post

from runtime import db
from runtime.tables import Partner, SystemRate, Tenant
from web import audit
from web.admin.schemas import (
    AdminTenantPatch,
    PartnerCreate,
    PartnerOut,
    RateCreate,
    RateOut,
)
from web.auth import service as auth
from web.auth.guards import requires_app_admin
from web.auth.schemas import TenantOut
from web.deps import found, principal, utcnow
from web.partner import service as tenants

RATE_COLUMNS = (
    SystemRate.id,
    SystemRate.model,
    SystemRate.resource_type,
    SystemRate.unit,
    SystemRate.rate.as_alias("cost_rate"),
    SystemRate.billing_rate,
    SystemRate.valid_from,
    SystemRate.valid_to,
)


class AdminController(Controller):
    """Platform-wide administration; runs in the system scope after the role guard."""

    path = "/admin"
    guards = [requires_app_admin]
    tags = ["admin"]

    @get("/partners")
    async def list_partners(self) -> list[PartnerOut]:
        """Every partner."""
        async with db.scope(system=True):
            rows = await Partner.select().order_by(Partner.created_at)
        return msgspec.convert(rows, list[PartnerOut])

    @post("/partners", status_code=201)
    async def create_partner(self, request: Request, data: PartnerCreate) -> PartnerOut:
        """A partner, its house tenant and its first partner admin."""
        me = principal(request)
        partner = Partner(
            name=data.name, commission_pct=data.commission_pct, commission_basis=data.commission_basis
        )
        async with db.scope(system=True):
            await Partner.insert(partner)
            house = uuid.uuid4()
            await Tenant.insert(Tenant(id=house, name=f"{data.name} (partner)", partner=partner.id))
            user = await auth.create_user(
                tenant_id=house,
                email=data.admin_email,
                password=data.admin_password,
                full_name=data.admin_full_name or data.name,
                role="partner_admin",
                partner_id=partner.id,
            )
            await Partner.update({Partner.admin_user_id: user["id"]}).where(Partner.id == partner.id)
            await audit.record(
                "partner.create", tenant_id=None, actor_id=me.id, target_type="partner", target_id=partner.id
            )
            row = await Partner.select().where(Partner.id == partner.id).first()
        return msgspec.convert(row, PartnerOut)

    @get("/tenants")
    async def list_tenants(self) -> list[TenantOut]:
        """Every tenant."""
        async with db.scope(system=True):
            rows = await Tenant.select(*auth.TENANT_COLUMNS).order_by(Tenant.created_at)
        return msgspec.convert(rows, list[TenantOut])

    @patch("/tenants/{tenant_id:uuid}")
    async def patch_tenant(self, request: Request, tenant_id: uuid.UUID, data: AdminTenantPatch) -> TenantOut:
        """Status, tier and concurrency limit of any tenant."""
        me = principal(request)
        async with db.scope(system=True):
            found(await Tenant.select(Tenant.id).where(Tenant.id == tenant_id).first(), "Tenant")
            if data.tier is not msgspec.UNSET or data.max_concurrency is not msgspec.UNSET:
                changes = {
                    getattr(Tenant, k): v
                    for k in ("tier", "max_concurrency")
                    if (v := getattr(data, k)) is not msgspec.UNSET
                }
                await Tenant.update({**changes, Tenant.updated_at: utcnow()}).where(Tenant.id == tenant_id)
            if data.status is not msgspec.UNSET:
                await tenants.set_status(tenant_id, data.status, me.id)
                await db.rescope(system=True)
            row = await Tenant.select(*auth.TENANT_COLUMNS).where(Tenant.id == tenant_id).first()
        return msgspec.convert(row, TenantOut)

    @get("/rates")
    async def list_rates(self) -> list[RateOut]:
        """Every version of every system rate, newest first."""
        async with db.scope(system=True):
            rows = await SystemRate.select(*RATE_COLUMNS).order_by(SystemRate.valid_from, ascending=False)
        return msgspec.convert(rows, list[RateOut])

    @post("/rates", status_code=201)
    async def create_rate(self, request: Request, data: RateCreate) -> RateOut:
        """A new version of a rate; the one it replaces ends where this one starts."""
        me = principal(request)
        start = data.valid_from or utcnow()
        rate = SystemRate(
            model=data.model,
            resource_type=data.resource_type,
            unit=data.unit,
            rate=data.cost_rate,
            billing_rate=data.billing_rate,
            valid_from=start,
        )
        async with db.scope(system=True):
            await SystemRate.update({SystemRate.valid_to: start}).where(
                (SystemRate.model == data.model)
                & (SystemRate.resource_type == data.resource_type)
                & SystemRate.valid_to.is_null()
                & (SystemRate.valid_from <= start)
            )
            await SystemRate.insert(rate)
            await audit.record(
                "rate.create", tenant_id=None, actor_id=me.id, target_type="system_rate", target_id=rate.id
            )
            row = await SystemRate.select(*RATE_COLUMNS).where(SystemRate.id == rate.id).first()
        return msgspec.convert(row, RateOut)
