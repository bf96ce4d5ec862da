"""SQL of a partner's prices and earnings; every function runs in the partner's `db.scope`."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from runtime import db
from runtime.tables import PartnerRate, SystemRate

_RATES = """
SELECT s.id AS system_rate_id, s.model, s.resource_type, s.unit, s.rate AS cost_rate,
       s.billing_rate, p.rate
FROM system_rates s
LEFT JOIN partner_rates p ON p.system_rate_id = s.id AND p.partner_id = $1 AND p.valid_to IS NULL
WHERE s.valid_to IS NULL AND s.is_active
ORDER BY s.model, s.resource_type
"""

_EARNINGS = """
SELECT t.id AS tenant_id, t.name,
       COALESCE(SUM(e.tenant_cost), 0) AS tenant_cost,
       COALESCE(SUM(e.partner_commission), 0) AS partner_commission
FROM tenants t
LEFT JOIN ledger_entries e ON e.tenant_id = t.id AND e.partner_id = $1
     AND ($2::timestamptz IS NULL OR e.created_at >= $2)
     AND ($3::timestamptz IS NULL OR e.created_at < $3)
WHERE t.partner_id = $1
GROUP BY t.id, t.name ORDER BY t.name
"""


async def rates(partner_id: uuid.UUID) -> list[dict[str, Any]]:
    """Rates in force: platform cost, default price and this partner's price (or None)."""
    return [dict(r) for r in await db.fetch(_RATES, partner_id)]


async def system_rate_in_force(system_rate_id: uuid.UUID) -> bool:
    """The system rate exists and has not been replaced."""
    query = SystemRate.select(SystemRate.id).where(
        (SystemRate.id == system_rate_id) & SystemRate.valid_to.is_null()
    )
    return await query.first() is not None


async def replace_rate(
    partner_id: uuid.UUID, system_rate_id: uuid.UUID, rate: Decimal, at: dt.datetime
) -> None:
    """Close the partner's current price for this rate at `at` and start a new version."""
    current = (
        (PartnerRate.partner == partner_id)
        & (PartnerRate.system_rate == system_rate_id)
        & PartnerRate.valid_to.is_null()
    )
    await PartnerRate.update({PartnerRate.valid_to: at}).where(current)
    await PartnerRate.insert(
        PartnerRate(partner=partner_id, system_rate=system_rate_id, rate=rate, valid_from=at)
    )


async def earnings(
    partner_id: uuid.UUID, start: dt.datetime | None, end: dt.datetime | None
) -> list[dict[str, Any]]:
    """Per tenant of the partner: tenant spend and commission in [start, end)."""
    return [dict(r) for r in await db.fetch(_EARNINGS, partner_id, start, end)]
