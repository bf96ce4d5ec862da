"""SQL of the app admin's console: partners, system rates, dead letters.

Every function runs in the caller's `db.scope(system=True)` (the console is cross-tenant by
nature; the role guard has admitted only app admins).
"""

from __future__ import annotations

import uuid
from typing import Any

from runtime.tables import DeadLetter, Partner, SystemRate

RATE_COLUMNS = (
    SystemRate.id,
    SystemRate.model,
    SystemRate.resource_type,
    SystemRate.unit,
    SystemRate.rate.as_alias("cost_rate"),
    SystemRate.billing_rate,
    SystemRate.valid_from,
    SystemRate.valid_to,
)


async def partners() -> list[dict[str, Any]]:
    """Every partner, oldest first."""
    return await Partner.select().order_by(Partner.created_at)


async def partner(partner_id: uuid.UUID) -> dict[str, Any] | None:
    """One partner."""
    return await Partner.select().where(Partner.id == partner_id).first()


async def insert_partner(row: Partner) -> None:
    """Store a new partner."""
    await Partner.insert(row)


async def set_partner_admin(partner_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Name the partner's first admin."""
    await Partner.update({Partner.admin_user_id: user_id}).where(Partner.id == partner_id)


async def rates() -> list[dict[str, Any]]:
    """Every version of every system rate, newest first."""
    return await SystemRate.select(*RATE_COLUMNS).order_by(SystemRate.valid_from, ascending=False)


async def rate(rate_id: uuid.UUID) -> dict[str, Any] | None:
    """One version of a system rate."""
    return await SystemRate.select(*RATE_COLUMNS).where(SystemRate.id == rate_id).first()


async def add_rate_version(row: SystemRate) -> None:
    """Store a new version; the version in force it replaces ends where this one starts."""
    await SystemRate.update({SystemRate.valid_to: row.valid_from}).where(
        (SystemRate.model == row.model)
        & (SystemRate.resource_type == row.resource_type)
        & SystemRate.valid_to.is_null()
        & (SystemRate.valid_from <= row.valid_from)
    )
    await SystemRate.insert(row)


async def dead_letters(limit: int) -> list[dict[str, Any]]:
    """The newest dead letters."""
    return await DeadLetter.select().order_by(DeadLetter.created_at, ascending=False).limit(limit)
