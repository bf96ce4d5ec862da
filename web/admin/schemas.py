"""App admin DTOs."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from web.partner.schemas import Money
from web.schemas import MAX_MONEY, Email, Name, Password, check_decimal

Key = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[\w.:/\-]+$")]
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=4096, pattern=r"^[^\x00\s]+$")]
Url = Annotated[str, msgspec.Meta(max_length=2048, pattern=r"^https?://[^\s\x00]+$")]


class PartnerCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    admin_email: Email
    admin_password: Password
    commission_pct: Decimal
    commission_basis: Literal["margin", "gross"] = "margin"
    admin_full_name: Name | None = None

    def __post_init__(self) -> None:
        check_decimal(self.commission_pct, "commission_pct", Decimal(0), Decimal(100))


class PartnerOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    status: str
    commission_pct: Decimal
    commission_basis: str
    admin_user_id: uuid.UUID | None
    created_at: dt.datetime


class AdminTenantPatch(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal["active", "suspended"] | msgspec.UnsetType = msgspec.UNSET
    tier: Literal["free", "pro", "enterprise"] | msgspec.UnsetType = msgspec.UNSET
    max_concurrency: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None | msgspec.UnsetType = msgspec.UNSET
    """Override the tier's concurrent executions for this tenant; null: back to the tier's."""


class RateCreate(msgspec.Struct, forbid_unknown_fields=True):
    model: Key
    resource_type: Literal["input_tokens", "output_tokens", "embedding_tokens"]
    unit: Literal["1k_tokens", "1m_tokens"]
    cost_rate: Money
    billing_rate: Money
    valid_from: dt.datetime | None = None

    def __post_init__(self) -> None:
        check_decimal(self.cost_rate, "cost_rate", Decimal(0), MAX_MONEY)
        check_decimal(self.billing_rate, "billing_rate", Decimal(0), MAX_MONEY)


class RateOut(msgspec.Struct):
    id: uuid.UUID
    model: str
    resource_type: str
    unit: str
    cost_rate: Decimal
    billing_rate: Decimal
    valid_from: dt.datetime
    valid_to: dt.datetime | None


PerHour = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]


class TierLimitsPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Change a tier's limits; a per-hour limit set to null is unlimited."""

    concurrent_executions: Annotated[int, msgspec.Meta(ge=0, le=100_000)] | msgspec.UnsetType = msgspec.UNSET
    requests_per_hour: PerHour | None | msgspec.UnsetType = msgspec.UNSET
    api_calls_per_hour: PerHour | None | msgspec.UnsetType = msgspec.UNSET
