"""`GET /usage` (a tenant's totals) and `GET /ledger/entries` (paged, per role)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from litestar import get
from litestar.di import Provide
from litestar.params import Parameter

from web.auth.guards import requires_role, requires_tenant_admin
from web.usage.deps import provide_usage_service
from web.usage.schemas import LedgerEntryOut, LedgerPage, UsageGroup, UsageOut
from web.usage.service import UsageService

From = Annotated[dt.datetime | None, Parameter(query="from")]
PAGE_MAX = 500
SERVICE = {"usage_service": Provide(provide_usage_service)}


@get("/usage", guards=[requires_tenant_admin], tags=["usage"], dependencies=SERVICE)
async def usage(
    usage_service: UsageService,
    from_: From = None,
    to: dt.datetime | None = None,
    group_by: Literal["day", "agent", "model"] = "day",
) -> UsageOut:
    """The tenant's usage in [from, to): tokens and tenant_cost by day, agent or model."""
    groups = msgspec.convert(await usage_service.usage(group_by, from_, to), list[UsageGroup])
    return UsageOut(
        group_by=group_by,
        from_=from_,
        to=to,
        groups=groups,
        quantity=sum((g.quantity for g in groups), Decimal(0)),
        tenant_cost=sum((g.tenant_cost for g in groups), Decimal(0)),
    )


@get(
    "/ledger/entries",
    guards=[requires_role("app_admin", "partner_admin", "tenant_admin")],
    tags=["usage"],
    dependencies=SERVICE,
)
async def ledger_entries(
    usage_service: UsageService,
    tenant_id: uuid.UUID | None = None,
    execution_id: uuid.UUID | None = None,
    from_: From = None,
    to: dt.datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Parameter(ge=1, le=PAGE_MAX)] = 50,
) -> LedgerPage:
    """Ledger entries, newest first, one page at a time (pass `next_cursor` back as `cursor`).

    Tenant admin: its tenant, without platform_cost and partner_commission. Partner admin:
    its tenants. App admin: any tenant.
    """
    entries, next_cursor = await usage_service.ledger_page(
        tenant_id=tenant_id, execution_id=execution_id, start=from_, end=to, cursor=cursor, limit=limit
    )
    return LedgerPage(entries=[LedgerEntryOut(**e) for e in entries], next_cursor=next_cursor)
