"""Request and response shapes of the billing routes."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

import msgspec


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


class WebhookOut(msgspec.Struct):
    received: bool
    duplicate: bool
