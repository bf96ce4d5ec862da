"""Tenant admin DTOs: workspace, users, API keys, webhook secret, budget and credit."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from web.schemas import PLACES, Email, Money, Name, Password, check_money

TenantRole = Literal["tenant_admin", "support", "user"]
"""`support`: a member who also answers conversations (docs/human-in-the-loop.md)."""


class TenantPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    full_name: Name
    password: Password
    role: TenantRole = "user"


class UserPatch(msgspec.Struct, forbid_unknown_fields=True):
    full_name: Name | msgspec.UnsetType = msgspec.UNSET
    role: TenantRole | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class ApiKeyOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


class ApiKeyCreated(msgspec.Struct):
    id: uuid.UUID
    name: str
    prefix: str
    key: Annotated[str, msgspec.Meta(description="The key itself; shown only in this answer.")]
    created_at: dt.datetime


class WebhookSecretOut(msgspec.Struct):
    """Verify `Hirebuddha-Signature: t=<ts>,v1=<hex>` as HMAC-SHA256(secret, "<ts>." + body)."""

    secret: str


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


class TierLimitsOut(msgspec.Struct):
    """A tier's limits (docs/limits.md); null per hour: unlimited."""

    tier: str
    concurrent_executions: int
    requests_per_hour: int | None
    api_calls_per_hour: int | None
    updated_at: dt.datetime


class LimitsOut(msgspec.Struct):
    """What the caller's workspace may do, and how much of this hour it has used."""

    tier: str
    concurrent_executions: int
    """The tier's, or the workspace's own override (`max_concurrency`)."""
    requests_per_hour: int | None
    api_calls_per_hour: int | None
    running: int
    """Executions pending or running now."""
    queued: int
    """Executions waiting for a slot."""
    requests_used: int
    api_calls_used: int
    reset_s: int
    """Seconds until the hourly counters start again."""
