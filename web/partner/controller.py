"""`/partner/*`: a sales partner's tenants, prices and earnings (never their agents or chats)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from litestar import Controller, get, patch, post, put
from litestar.di import Provide
from litestar.params import Parameter

from web.auth.guards import requires_partner_admin
from web.partner.deps import provide_partner_service
from web.partner.schemas import (
    EarningsOut,
    PartnerRateIn,
    PartnerRateOut,
    PartnerTenantOut,
    TenantCreate,
    TenantEarnings,
    TenantStatusPatch,
)
from web.partner.service import PartnerService


class PartnerController(Controller):
    """Everything a partner admin does; RLS limits the partner scope to its own tenants."""

    path = "/partner"
    guards = [requires_partner_admin]
    dependencies = {"partner_service": Provide(provide_partner_service)}
    tags = ["partner"]

    @get("/tenants")
    async def list_tenants(self, partner_service: PartnerService) -> list[PartnerTenantOut]:
        """The partner's tenants."""
        return msgspec.convert(await partner_service.tenants(), list[PartnerTenantOut])

    @post("/tenants", status_code=201)
    async def create_tenant(self, partner_service: PartnerService, data: TenantCreate) -> PartnerTenantOut:
        """A new tenant of this partner with its first tenant admin."""
        return msgspec.convert(await partner_service.create_tenant(data), PartnerTenantOut)

    @patch("/tenants/{tenant_id:uuid}")
    async def patch_tenant(
        self, partner_service: PartnerService, tenant_id: uuid.UUID, data: TenantStatusPatch
    ) -> PartnerTenantOut:
        """Suspend (sessions end at once) or resume one of the partner's tenants."""
        return msgspec.convert(await partner_service.set_status(tenant_id, data.status), PartnerTenantOut)

    @get("/rates")
    async def list_rates(self, partner_service: PartnerService) -> list[PartnerRateOut]:
        """Rates in force: platform cost, default price and this partner's price."""
        return msgspec.convert(await partner_service.rates(), list[PartnerRateOut])

    @put("/rates")
    async def put_rates(
        self, partner_service: PartnerService, data: list[PartnerRateIn]
    ) -> list[PartnerRateOut]:
        """Set prices; each change closes the old version and starts a new one (never edited)."""
        return msgspec.convert(await partner_service.set_rates(data), list[PartnerRateOut])

    @get("/earnings")
    async def earnings(
        self,
        partner_service: PartnerService,
        from_: Annotated[dt.datetime | None, Parameter(query="from")] = None,
        to: dt.datetime | None = None,
    ) -> EarningsOut:
        """Commission and tenant spend per tenant over a period (default: all time)."""
        total, rows = await partner_service.earnings(from_, to)
        return EarningsOut(total_commission=total, tenants=msgspec.convert(rows, list[TenantEarnings]))
