"""`/admin/*`: the app admin runs partners, tenants, rates, models and provider keys."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, get, patch, post
from litestar.di import Provide

from web.admin.deps import provide_admin_service
from web.admin.schemas import (
    AdminTenantPatch,
    PartnerCreate,
    PartnerOut,
    RateCreate,
    RateOut,
)
from web.admin.service import AdminService
from web.auth.guards import requires_app_admin
from web.auth.schemas import TenantOut


class AdminController(Controller):
    """Platform-wide administration; runs in the system scope after the role guard."""

    path = "/admin"
    guards = [requires_app_admin]
    dependencies = {"admin_service": Provide(provide_admin_service)}
    tags = ["admin"]

    @get("/partners")
    async def list_partners(self, admin_service: AdminService) -> list[PartnerOut]:
        """Every partner."""
        return msgspec.convert(await admin_service.partners(), list[PartnerOut])

    @post("/partners", status_code=201)
    async def create_partner(self, admin_service: AdminService, data: PartnerCreate) -> PartnerOut:
        """A partner, its house tenant and its first partner admin."""
        return msgspec.convert(await admin_service.create_partner(data), PartnerOut)

    @get("/tenants")
    async def list_tenants(self, admin_service: AdminService) -> list[TenantOut]:
        """Every tenant."""
        return msgspec.convert(await admin_service.tenants(), list[TenantOut])

    @patch("/tenants/{tenant_id:uuid}")
    async def patch_tenant(
        self, admin_service: AdminService, tenant_id: uuid.UUID, data: AdminTenantPatch
    ) -> TenantOut:
        """Status, tier and concurrency limit of any tenant."""
        return msgspec.convert(await admin_service.update_tenant(tenant_id, data), TenantOut)

    @get("/rates")
    async def list_rates(self, admin_service: AdminService) -> list[RateOut]:
        """Every version of every system rate, newest first."""
        return msgspec.convert(await admin_service.rates(), list[RateOut])

    @post("/rates", status_code=201)
    async def create_rate(self, admin_service: AdminService, data: RateCreate) -> RateOut:
        """A new version of a rate; the one it replaces ends where this one starts."""
        return msgspec.convert(await admin_service.create_rate(data), RateOut)
