"""Usage, ledger, budget and live-usage DTOs. Money is a decimal string, never a float."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

import msgspec

from web.schemas import MAX_MONEY, check_decimal

Money = Annotated[Decimal, msgspec.Meta(description='Decimal string, e.g. "0.001500"')]
PLACES = Decimal("0.000001")


def check_money(value: Decimal | None, field: str, low: Decimal = Decimal(0)) -> None:
    """400 unless `value` is None or a NUMERIC(18,6) amount within [low, MAX_MONEY]."""
    if value is None:
        return
    check_decimal(value, field, low, MAX_MONEY)
    if value != value.quantize(PLACES):
        raise ValueError(f"{field} has more than 6 decimal places")


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


class UserCap(msgspec.Struct):
    user_id: uuid.UUID
    monthly_cap: Money | None


class BudgetOut(msgspec.Struct):
    monthly_cap: Money | None
    user_caps: list[UserCap]
    month_start: dt.datetime
    spent: Money
    """tenant_cost of this month's ledger entries."""
    held: Money
    """Reserved for calls in flight."""
    credit_balance: Money | None
    prepaid: bool


class BudgetIn(msgspec.Struct, forbid_unknown_fields=True):
    """Replace the tenant cap (null: none) and, when given, set these users' caps."""

    monthly_cap: Money | None = None
    user_caps: list[UserCap] | None = None

    def __post_init__(self) -> None:
        check_money(self.monthly_cap, "monthly_cap")
        for cap in self.user_caps or ():
            check_money(cap.monthly_cap, "user_caps.monthly_cap")


class UserBudgetIn(msgspec.Struct, forbid_unknown_fields=True):
    monthly_cap: Money | None = None

    def __post_init__(self) -> None:
        check_money(self.monthly_cap, "monthly_cap")


class CreditIn(msgspec.Struct, forbid_unknown_fields=True):
    amount: Money
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""

    def __post_init__(self) -> None:
        check_money(self.amount, "amount", PLACES)


class CreditOut(msgspec.Struct):
    tenant_id: uuid.UUID
    credit_balance: Money


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
