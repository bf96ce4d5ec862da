"""Usage, ledger and live-usage DTOs. Money is a decimal string, never a float."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import msgspec

from web.schemas import Money


class UsageGroup(msgspec.Struct):
    key: str | None
    """The day (YYYY-MM-DD, UTC), the agent id or the model; null when unknown."""
    label: str | None
    input_tokens: Decimal
    output_tokens: Decimal
    quantity: Decimal
    tenant_cost: Money
    entries: int


class UsageOut(msgspec.Struct):
    group_by: str
    from_: dt.datetime | None = msgspec.field(name="from")
    to: dt.datetime | None
    groups: list[UsageGroup]
    quantity: Decimal
    tenant_cost: Money


class LedgerEntryOut(msgspec.Struct, omit_defaults=True):
    """A ledger entry; platform_cost and partner_commission are absent for a tenant admin."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    partner_id: uuid.UUID | None
    execution_id: uuid.UUID | None
    model: str | None
    resource_type: str
    quantity: Decimal
    unit: str
    tenant_cost: Money
    reverses_id: uuid.UUID | None
    created_at: dt.datetime
    platform_cost: Money | None = None
    partner_commission: Money | None = None


class LedgerPage(msgspec.Struct):
    entries: list[LedgerEntryOut]
    next_cursor: str | None
    """Pass as `cursor` for the next (older) page; null on the last page."""


class UsageFrame(msgspec.Struct, tag_field="type", tag="usage", omit_defaults=True):
    """The live usage frame of docs/contract.md; fields the viewer may not see are left out."""

    tenant_id: uuid.UUID
    execution_id: uuid.UUID | None
    model: str | None
    resource_type: str
    quantity: Decimal
    tenant_cost: Decimal
    at: dt.datetime
    platform_cost: Decimal | None = None
    partner_commission: Decimal | None = None
