"""Audit trail DTOs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec


class AuditEntryOut(msgspec.Struct):
    """One recorded action."""

    id: uuid.UUID
    created_at: dt.datetime
    tenant_id: uuid.UUID | None
    actor_user_id: uuid.UUID | None
    actor_email: str | None
    action: str
    target_type: str | None
    target_id: uuid.UUID | None
    ip: str | None
    details: dict[str, Any]


class AuditPage(msgspec.Struct):
    """A page of the trail, newest first; pass `next_cursor` as `cursor` for the next one."""

    items: list[AuditEntryOut]
    next_cursor: str | None


class AuditFilter(msgspec.Struct, frozen=True):
    """What to list: all fields optional; `action` matches exactly or, ending in `.`, a prefix."""

    actor: uuid.UUID | None = None
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    tenant_id: uuid.UUID | None = None
    cursor: str | None = None
    limit: int = 50
