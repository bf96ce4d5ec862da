"""Reading the audit trail: who may see what, filters and the opaque cursor."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any

import msgspec
from litestar.exceptions import ValidationException

from runtime import db
from web.audit import repository
from web.audit.schemas import AuditEntryOut, AuditFilter, AuditPage

MAX_LIMIT = 200


def encode_cursor(row: dict[str, Any]) -> str:
    raw = json.dumps([row["created_at"].isoformat(), str(row["id"])]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, ident = json.loads(base64.urlsafe_b64decode(padded))
        return dt.datetime.fromisoformat(at), uuid.UUID(ident)
    except (ValueError, TypeError) as exc:
        errors = [{"key": "cursor", "code": "bad_cursor", "message": "Not a cursor this API gave out."}]
        raise ValidationException("Validation failed: bad cursor", extra=errors) from exc


class AuditService:
    """The trail as one kind of reader may see it."""

    async def platform_page(self, query: AuditFilter) -> AuditPage:
        """App admins: every tenant's rows and the platform's own (system scope)."""
        async with db.scope(system=True):
            return await self._page(query, query.tenant_id)

    async def tenant_page(self, tenant_id: uuid.UUID, query: AuditFilter) -> AuditPage:
        """Tenant admins: their own tenant's rows only (RLS and the filter both say so)."""
        async with db.scope(tenant_id):
            return await self._page(query, tenant_id)

    async def _page(self, query: AuditFilter, tenant_id: uuid.UUID | None) -> AuditPage:
        limit = max(1, min(query.limit, MAX_LIMIT))
        rows = await repository.page(
            tenant_id=tenant_id,
            actor=query.actor,
            action=query.action or None,
            since=query.since,
            until=query.until,
            after=decode_cursor(query.cursor) if query.cursor else None,
            limit=limit + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = msgspec.convert(rows, list[AuditEntryOut])
        return AuditPage(items, encode_cursor(rows[-1]) if more else None)


def provide_audit_service() -> AuditService:
    return AuditService()
