"""Partner console DTOs."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

import msgspec

from web.schemas import MAX_MONEY, Email, Money, Name, Password, check_decimal


class TenantCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    admin_email: Email
    admin_password: Password
    admin_full_name: Name


class TenantStatusPatch(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal["active", "suspended"]


class PartnerTenantOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    status: str
    tier: str
    admin_user_id: uuid.UUID | None = None


class PartnerRateIn(msgspec.Struct, forbid_unknown_fields=True):
    system_rate_id: uuid.UUID
    rate: Money

    def __post_init__(self) -> None:
        check_decimal(self.rate, "rate", Decimal(0), MAX_MONEY)


class PartnerRateOut(msgspec.Struct):
    system_rate_id: uuid.UUID
    model: str
    resource_type: str
    unit: str
    cost_rate: Decimal
    billing_rate: Decimal
    rate: Decimal | None


class TenantEarnings(msgspec.Struct):
    tenant_id: uuid.UUID
    name: str
    tenant_cost: Decimal
    partner_commission: Decimal


class EarningsOut(msgspec.Struct):
    total_commission: Decimal
    tenants: list[TenantEarnings]
