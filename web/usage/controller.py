"""`GET /usage` (a tenant's totals) and `GET /ledger/entries` (paged, per role)."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from litestar import Request, get
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.params import Parameter

from runtime import db
from web.auth.guards import requires_role, requires_tenant_admin
from web.auth.identity import Principal
from web.deps import principal
from web.usage import repository as repo
from web.usage.schemas import LedgerEntryOut, LedgerPage, UsageGroup, UsageOut

From = Annotated[dt.datetime | None, Parameter(query="from")]
PAGE_MAX = 500


@get("/usage", guards=[requires_tenant_admin], tags=["usage"])
async def usage(
    request: Request,
    from_: From = None,
    to: dt.datetime | None = None,
    group_by: Literal["day", "agent", "model"] = "day",
) -> UsageOut:
    """The tenant's usage in [from, to): tokens and tenant_cost by day, agent or model."""
    me = principal(request)
    async with db.scope(me.tenant_id):
        rows = await repo.usage(me.tenant_id, group_by, from_, to)
    groups = msgspec.convert([dict(r) for r in rows], list[UsageGroup])
    return UsageOut(
        group_by=group_by,
        from_=from_,
        to=to,
        groups=groups,
        quantity=sum((g.quantity for g in groups), Decimal(0)),
        tenant_cost=sum((g.tenant_cost for g in groups), Decimal(0)),
    )


def encode_cursor(created_at: dt.datetime, entry_id: uuid.UUID) -> str:
    """Opaque keyset cursor of the last entry of a page."""
    raw = msgspec.json.encode([created_at.isoformat(), str(entry_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    """The keyset of a cursor; a 400 for anything this API did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, entry_id = msgspec.json.decode(raw, type=tuple[dt.datetime, uuid.UUID])
    except (ValueError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValidationException("cursor is not valid") from exc
    return at, entry_id


def _scope(me: Principal, tenant_id: uuid.UUID | None) -> tuple[dict, uuid.UUID | None, uuid.UUID | None]:
    """(db.scope kwargs, tenant filter, partner filter) for the caller's role."""
    if me.role == "app_admin":
        return {"system": True}, tenant_id, None
    if me.role == "partner_admin":
        if me.partner_id is None:
            raise PermissionDeniedException("This account is not attached to a partner.")
        return {"partner_id": me.partner_id}, tenant_id, me.partner_id
    if tenant_id is not None and tenant_id != me.tenant_id:
        raise PermissionDeniedException("A tenant admin sees its own tenant's ledger only.")
    return {"tenant_id": me.tenant_id}, me.tenant_id, None


@get(
    "/ledger/entries",
    guards=[requires_role("app_admin", "partner_admin", "tenant_admin")],
    tags=["usage"],
)
async def ledger_entries(
    request: Request,
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
    me = principal(request)
    scope, tenant_filter, partner_filter = _scope(me, tenant_id)
    after = None if cursor is None else decode_cursor(cursor)
    async with db.scope(**scope):
        rows = await repo.entries(
            tenant_id=tenant_filter,
            partner_id=partner_filter,
            execution_id=execution_id,
            start=from_,
            end=to,
            after=after,
            limit=limit + 1,
        )
    hidden = me.role == "tenant_admin"
    out = [
        LedgerEntryOut(**{k: v for k, v in dict(r).items() if not (hidden and k in _HIDDEN_FROM_TENANT)})
        for r in rows[:limit]
    ]
    more = len(rows) > limit
    return LedgerPage(
        entries=out,
        next_cursor=encode_cursor(out[-1].created_at, out[-1].id) if more else None,
    )


_HIDDEN_FROM_TENANT = ("platform_cost", "partner_commission")
