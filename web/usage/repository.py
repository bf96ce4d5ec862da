"""SQL of the usage reports and the ledger listing; callers open the scoped transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from runtime import db

# Per group: tokens by resource type, total quantity and tenant_cost (never platform cost or
# commission). The agent comes from the execution, else from the entry's pricing metadata.
# Served by ledger_entries_tenant_created (tenant_id, created_at, id) INCLUDE (tenant_cost, ...).
_GROUP_KEYS = {
    "day": ("to_char(date_trunc('day', l.created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')", "NULL"),
    "model": ("l.model", "NULL"),
    "agent": ("g.agent_id::text", "max(a.name)"),
}
_USAGE = """
SELECT {key} AS key, {label} AS label,
       COALESCE(sum(l.quantity) FILTER (WHERE l.resource_type = 'input_tokens'), 0) AS input_tokens,
       COALESCE(sum(l.quantity) FILTER (WHERE l.resource_type = 'output_tokens'), 0) AS output_tokens,
       sum(l.quantity) AS quantity, sum(l.tenant_cost) AS tenant_cost, count(*) AS entries
FROM ledger_entries l
LEFT JOIN executions e ON e.id = l.execution_id AND e.tenant_id = l.tenant_id
CROSS JOIN LATERAL (SELECT COALESCE(
    e.agent_id, NULLIF(l.entry_metadata::jsonb ->> 'agent_id', '')::uuid) AS agent_id) g
LEFT JOIN agents a ON a.id = g.agent_id AND a.tenant_id = l.tenant_id
WHERE l.tenant_id = $1
  AND ($2::timestamptz IS NULL OR l.created_at >= $2)
  AND ($3::timestamptz IS NULL OR l.created_at < $3)
GROUP BY 1 ORDER BY 1
"""


async def usage(
    tenant_id: uuid.UUID, group_by: str, start: dt.datetime | None, end: dt.datetime | None
) -> Sequence[Any]:
    """Totals of the tenant's entries in [start, end), grouped by day, agent or model."""
    key, label = _GROUP_KEYS[group_by]
    return await db.fetch(_USAGE.format(key=key, label=label), tenant_id, start, end)


# Newest first with a keyset on (created_at, id): stable under concurrent inserts and as fast
# on the millionth page as on the first. Served by ledger_entries_tenant_created (per tenant)
# or ledger_entries_partner_created (a partner's tenants).
_ENTRIES = """
SELECT id, tenant_id, partner_id, execution_id, model, resource_type, quantity, unit,
       platform_cost, tenant_cost, partner_commission, reverses_id, created_at
FROM ledger_entries
WHERE ($1::uuid IS NULL OR tenant_id = $1)
  AND ($2::uuid IS NULL OR partner_id = $2)
  AND ($3::uuid IS NULL OR execution_id = $3)
  AND ($4::timestamptz IS NULL OR created_at >= $4)
  AND ($5::timestamptz IS NULL OR created_at < $5)
  AND ($6::timestamptz IS NULL OR (created_at, id) < ($6, $7::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $8
"""


async def entries(
    *,
    tenant_id: uuid.UUID | None,
    partner_id: uuid.UUID | None,
    execution_id: uuid.UUID | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Any]:
    """One page of entries, newest first, strictly older than the `after` key."""
    return await db.fetch(
        _ENTRIES,
        tenant_id,
        partner_id,
        execution_id,
        start,
        end,
        None if after is None else after[0],
        None if after is None else after[1],
        limit,
    )
