"""SQL of the audit trail: one keyset-paged query, newest first, in the caller's scope."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from runtime import db

SELECT = (
    "SELECT a.id, a.created_at, a.tenant_id, a.actor_user_id, u.email AS actor_email, a.action, "
    "a.target_type, a.target_id, a.ip, a.details FROM audit_log a "
    "LEFT JOIN users u ON u.id = a.actor_user_id "
)


async def page(
    *,
    tenant_id: uuid.UUID | None,
    actor: uuid.UUID | None,
    action: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to `limit` rows matching every given filter, older than `after` (keyset)."""
    prefix = action is not None and action.endswith(".")
    sql = SELECT + (
        "WHERE ($1::uuid IS NULL OR a.tenant_id = $1) AND ($2::uuid IS NULL OR a.actor_user_id = $2) "
        "AND ($3::text IS NULL OR CASE WHEN $4 THEN left(a.action, length($3)) = $3 ELSE a.action = $3 END) "
        "AND ($5::timestamptz IS NULL OR a.created_at >= $5) "
        "AND ($6::timestamptz IS NULL OR a.created_at < $6) "
        "AND ($7::timestamptz IS NULL OR (a.created_at, a.id) < ($7, $8::uuid)) "
        "ORDER BY a.created_at DESC, a.id DESC LIMIT $9"
    )
    cursor_at, cursor_id = after if after else (None, None)
    rows = await db.fetch(sql, tenant_id, actor, action, prefix, since, until, cursor_at, cursor_id, limit)
    return [{**r, "details": json.loads(r["details"]) if r["details"] else {}} for r in rows]
