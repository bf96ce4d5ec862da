"""A workspace's limits: its tier's (docs/limits.md), where this hour stands, and the tier table.

The SQL of `tier_limits` lives here for both readers, the tenant's view (`GET /tenant/limits`)
and the app admin's editor (`web/admin/tiers.py`).
"""

from __future__ import annotations

import uuid
from typing import Any

from runtime import db
from web.auth.identity import Principal
from web.deps import found

TIER_COLUMNS = "tier, concurrent_executions, requests_per_hour, api_calls_per_hour, updated_at"
ORDER = "array_position(ARRAY['free', 'pro', 'enterprise']::text[], tier::text), tier"


async def tiers() -> list[dict[str, Any]]:
    """Every tier's limits, cheapest first."""
    rows = await db.fetch(f"SELECT {TIER_COLUMNS} FROM tier_limits ORDER BY {ORDER}")  # noqa: S608 (constant SQL)
    return [dict(r) for r in rows]


async def tier(name: str) -> dict[str, Any] | None:
    """One tier's limits, or None."""
    row = await db.fetchrow(f"SELECT {TIER_COLUMNS} FROM tier_limits WHERE tier = $1", name)  # noqa: S608
    return None if row is None else dict(row)


async def update_tier(name: str, values: dict[str, Any]) -> None:
    """Write the given limit columns of a tier (names come from the Patch struct's fields)."""
    sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(values, start=2))
    await db.execute(
        f"UPDATE tier_limits SET {sets}, updated_at = now() WHERE tier = $1",  # noqa: S608 (field names)
        name,
        *values.values(),
    )


_USAGE = """
SELECT t.tier,
       COALESCE(t.max_concurrency, l.concurrent_executions, 4) AS concurrent_executions,
       l.requests_per_hour, l.api_calls_per_hour,
       (SELECT count(*) FROM executions e WHERE e.tenant_id = t.id
          AND e.status IN ('pending', 'running'))::int AS running,
       (SELECT count(*) FROM executions e WHERE e.tenant_id = t.id AND e.status = 'queued')::int AS queued,
       COALESCE((SELECT c.used FROM rate_counters c WHERE c.tenant_id = t.id AND c.kind = 'requests'
                   AND c.window_start = date_trunc('hour', now())), 0) AS requests_used,
       COALESCE((SELECT c.used FROM rate_counters c WHERE c.tenant_id = t.id AND c.kind = 'api_calls'
                   AND c.window_start = date_trunc('hour', now())), 0) AS api_calls_used,
       GREATEST(1, ceil(extract(epoch FROM (date_trunc('hour', now()) + interval '1 hour' - now()))))::int
         AS reset_s
FROM tenants t LEFT JOIN tier_limits l ON l.tier = t.tier
WHERE t.id = $1
"""


class LimitsService:
    """The caller's workspace's limits and this hour's use."""

    def __init__(self, me: Principal) -> None:
        self.me = me

    async def overview(self) -> dict[str, Any]:
        """Limits of the tier (or the workspace's override) and the counters of this hour."""
        async with db.scope(self.me.tenant_id):
            return found(await _usage(self.me.tenant_id), "Tenant")


async def _usage(tenant_id: uuid.UUID) -> dict[str, Any] | None:
    row = await db.fetchrow(_USAGE, tenant_id)
    return None if row is None else dict(row)
