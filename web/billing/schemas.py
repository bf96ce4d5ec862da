"""Request and response shapes of the billing routes."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

import msgspec

from web.schemas import Money, check_decimal, check_money


class SetupIntentOut(msgspec.Struct):
    id: str
    client_secret: str
    publishable_key: str
    stripe_js_url: str


class PaymentMethodIn(msgspec.Struct, forbid_unknown_fields=True):
    setup_intent_id: Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=r"^seti_\w+$")]


class PaymentMethodOut(msgspec.Struct):
    id: uuid.UUID
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None
    is_default: bool
    created_at: dt.datetime


class InvoiceLineOut(msgspec.Struct):
    model: str | None
    resource_type: str
    quantity: Decimal
    exact_amount: Decimal
    amount: Decimal


class InvoiceOut(msgspec.Struct):
    id: uuid.UUID
    tenant_id: uuid.UUID
    invoice_number: str | None
    status: str
    total_amount: Decimal
    currency: str
    period_start: dt.datetime
    period_end: dt.datetime
    due_date: dt.datetime
    finalized_at: dt.datetime | None
    paid_date: dt.datetime | None
    charge_attempts: int
    last_charge_error: str | None
    dunning_started_at: dt.datetime | None


class InvoiceDetailOut(InvoiceOut):
    lines: list[InvoiceLineOut]


class BillingOverviewOut(msgspec.Struct):
    tenant_status: str
    suspended_for_payment: bool
    payment_methods: list[PaymentMethodOut]
    invoices: list[InvoiceOut]
    publishable_key: str
    stripe_js_url: str


class DunningOut(msgspec.Struct):
    tenant_id: uuid.UUID
    tenant_name: str
    tenant_status: str
    invoice_id: uuid.UUID
    invoice_number: str | None
    status: str
    total_amount: Decimal
    charge_attempts: int
    last_charge_error: str | None
    dunning_started_at: dt.datetime | None
    billing_suspended_at: dt.datetime | None


class CaughtMailOut(msgspec.Struct):
    id: uuid.UUID
    mail_from: str
    rcpt_to: str
    subject: str
    body: str
    received_at: dt.datetime


class PrepaidCreditIn(msgspec.Struct, forbid_unknown_fields=True):
    amount: Money
    request_key: Annotated[str, msgspec.Meta(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    """The client's key of this purchase: a repeated request is the same PaymentIntent at Stripe."""

    def __post_init__(self) -> None:
        check_decimal(self.amount, "amount", Decimal(1), Decimal(100_000))


class InvoiceVoidIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=500)]
    """Why the invoice is forgiven; kept in the audit log."""


class CreditPurchaseOut(msgspec.Struct):
    id: uuid.UUID
    amount: Decimal
    source: str
    reference: str
    balance_after: Decimal
    created_at: dt.datetime


class PrepaidCreditOut(msgspec.Struct):
    credit_balance: Decimal
    purchases: list[CreditPurchaseOut]


class CreditBoughtOut(msgspec.Struct):
    payment_intent_id: str
    amount: Decimal
    credit_balance: Decimal


class PlanIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    tier: Annotated[str, msgspec.Meta(pattern=r"^(free|pro|enterprise)$")]
    monthly_price: Money
    annual_price: Money
    included_credit: Money | None = None
    max_concurrency: Annotated[int, msgspec.Meta(ge=1, le=10000)] = 4

    def __post_init__(self) -> None:
        for field in ("monthly_price", "annual_price", "included_credit"):
            check_money(getattr(self, field), field)


class PlanPatch(msgspec.Struct, forbid_unknown_fields=True):
    monthly_price: Money | None = None
    annual_price: Money | None = None
    included_credit: Money | None = None
    max_concurrency: Annotated[int, msgspec.Meta(ge=1, le=10000)] | None = None
    is_active: bool | None = None

    def __post_init__(self) -> None:
        for field in ("monthly_price", "annual_price", "included_credit"):
            check_money(getattr(self, field), field)


class PlanOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    tier: str
    monthly_price: Decimal
    annual_price: Decimal
    included_credit: Decimal
    max_concurrency: int
    is_active: bool


class SubscriptionIn(msgspec.Struct, forbid_unknown_fields=True):
    plan_name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    billing_cycle: Annotated[str, msgspec.Meta(pattern=r"^(monthly|annual)$")] = "monthly"


class SubscriptionOut(msgspec.Struct):
    plan_name: str
    status: str
    billing_cycle: str
    credit_balance: Decimal
    tier: str | None
    monthly_price: Decimal | None
    annual_price: Decimal | None
    included_credit: Decimal | None


class StatementMonthOut(msgspec.Struct):
    month: str
    total: Decimal
    exact_total: Decimal


class StatementLineOut(msgspec.Struct):
    tenant_id: uuid.UUID
    tenant_name: str
    tenant_cost: Decimal
    commission: Decimal
    commission_cents: Decimal


class StatementOut(msgspec.Struct):
    month: str
    period_start: dt.datetime
    period_end: dt.datetime
    lines: list[StatementLineOut]
    exact_total: Decimal
    total: Decimal


class PartnerRevenueOut(msgspec.Struct):
    partner_id: uuid.UUID | None
    partner_name: str
    platform_cost: Decimal
    tenant_revenue: Decimal
    partner_commission: Decimal


class RevenueMonthOut(msgspec.Struct):
    month: str
    platform_cost: Decimal
    tenant_revenue: Decimal
    partner_commission: Decimal
    partners: list[PartnerRevenueOut]


class WebhookOut(msgspec.Struct):
    received: bool
    duplicate: bool
