"""Usage reports and the ledger listing: who sees which tenants' entries, and which columns.

Tenant admin: its own tenant, without platform_cost and partner_commission. Partner admin:
its tenants (in the partner's scope). App admin: any tenant (system scope).
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar.exceptions import PermissionDeniedException, ValidationException

from runtime import db
from web.auth.identity import Principal
from web.usage import repository as repo

HIDDEN_FROM_TENANT = ("platform_cost", "partner_commission")


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


class UsageService:
    """Usage and ledger entries as the caller may see them."""

    def __init__(self, me: Principal) -> None:
        self.me = me

    async def usage(
        self, group_by: str, start: dt.datetime | None, end: dt.datetime | None
    ) -> list[dict[str, Any]]:
        """The caller's tenant's totals in [start, end), grouped by day, agent or model."""
        async with db.scope(self.me.tenant_id):
            return [dict(r) for r in await repo.usage(self.me.tenant_id, group_by, start, end)]

    def _scope(self, tenant_id: uuid.UUID | None) -> tuple[dict, uuid.UUID | None, uuid.UUID | None]:
        """(db.scope kwargs, tenant filter, partner filter) for the caller's role."""
        me = self.me
        if me.role == "app_admin":
            return {"system": True}, tenant_id, None
        if me.role == "partner_admin":
            if me.partner_id is None:
                raise PermissionDeniedException("This account is not attached to a partner.")
            return {"partner_id": me.partner_id}, tenant_id, me.partner_id
        if tenant_id is not None and tenant_id != me.tenant_id:
            raise PermissionDeniedException("A tenant admin sees its own tenant's ledger only.")
        return {"tenant_id": me.tenant_id}, me.tenant_id, None

    async def ledger_page(
        self,
        *,
        tenant_id: uuid.UUID | None,
        execution_id: uuid.UUID | None,
        start: dt.datetime | None,
        end: dt.datetime | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to `limit` entries newest first, older than the cursor's; and the next page's cursor."""
        scope, tenant_filter, partner_filter = self._scope(tenant_id)
        after = None if cursor is None else decode_cursor(cursor)
        async with db.scope(**scope):
            rows = await repo.entries(
                tenant_id=tenant_filter,
                partner_id=partner_filter,
                execution_id=execution_id,
                start=start,
                end=end,
                after=after,
                limit=limit + 1,
            )
        hidden = HIDDEN_FROM_TENANT if self.me.role == "tenant_admin" else ()
        entries = [{k: v for k, v in dict(r).items() if k not in hidden} for r in rows[:limit]]
        more = len(rows) > limit
        return entries, encode_cursor(entries[-1]["created_at"], entries[-1]["id"]) if more else None
