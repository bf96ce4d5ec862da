"""Rates, the ledger and what the tenant pays with."""

from decimal import Decimal

from piccolo.columns import (
    UUID,
    Boolean,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from runtime.db import APP_DB
from runtime.tables.base import created_at, pk, updated_at
from runtime.tables.identity import Partner, Tenant

MONEY = (18, 6)


class SystemRate(Table, tablename="system_rates", db=APP_DB):
    """Platform cost (`rate`) and direct-tenant price (`billing_rate`) per model and unit.

    Versioned by valid_from / valid_to; never edited in place.
    """

    id = pk()
    model = Varchar(length=100, index=True)
    resource_type = Varchar(length=32)  # input_tokens | output_tokens
    unit = Varchar(length=16)  # 1k_tokens | 1m_tokens
    rate = Numeric(digits=MONEY)
    billing_rate = Numeric(digits=MONEY)
    valid_from = Timestamptz()
    valid_to = Timestamptz(null=True, default=None)
    is_active = Boolean(default=True)
    description = Text(null=True, default=None)
    created_at = created_at()


class PartnerRate(Table, tablename="partner_rates", db=APP_DB):
    """A partner's price to its tenants for one system rate."""

    id = pk()
    partner = ForeignKey(
        db_column_name="partner_id", references=Partner, index=True, on_delete=OnDelete.cascade
    )
    system_rate = ForeignKey(
        db_column_name="system_rate_id",
        references=SystemRate,
        index=True,
        on_delete=OnDelete.restrict,
    )
    rate = Numeric(digits=MONEY)
    valid_from = Timestamptz()
    valid_to = Timestamptz(null=True, default=None)
    is_active = Boolean(default=True)
    created_at = created_at()


class LedgerEntry(Table, tablename="ledger_entries", db=APP_DB):
    """Immutable priced usage; the database refuses UPDATE and DELETE."""

    id = pk()
    # No single-column index on tenant_id or partner_id: the wider indexes of the raw
    # migrations lead with them (hirebuddha_2026_12_02t06_00_00_000000_ledger_lean_indexes).
    # The two references are kept by a statement-level trigger, not by foreign-key constraints
    # (hirebuddha_2026_12_03t16_00_00_000000_ledger_statement_refs; docs/architecture.md step 8).
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, on_delete=OnDelete.restrict)
    partner = ForeignKey(
        db_column_name="partner_id",
        references=Partner,
        null=True,
        on_delete=OnDelete.restrict,
    )
    execution_id = UUID(null=True, default=None, index=True)
    event_id = UUID(unique=True)
    model = Varchar(length=100, null=True, default=None)
    resource_type = Varchar(length=32)
    quantity = Numeric(digits=MONEY)
    unit = Varchar(length=16)
    platform_cost = Numeric(digits=MONEY)
    tenant_cost = Numeric(digits=MONEY)
    partner_commission = Numeric(digits=MONEY)
    reverses_id = UUID(null=True, default=None)
    prev_hash = Varchar(length=64, null=True, default=None)
    entry_hash = Varchar(length=64, null=True, default=None)
    entry_metadata = Text(null=True, default=None)
    created_at = created_at()


class Invoice(Table, tablename="invoices", db=APP_DB):
    """A tenant's invoice for one period."""

    id = pk()
    tenant = ForeignKey(
        db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.restrict
    )
    invoice_number = Varchar(length=64, unique=True, null=True, default=None)
    total_amount = Numeric(digits=MONEY)
    currency = Varchar(length=3, default="USD")
    status = Varchar(length=20, default="draft")  # draft | open | paid | uncollectible | void
    period_start = Timestamptz()
    period_end = Timestamptz()
    due_date = Timestamptz()
    paid_date = Timestamptz(null=True, default=None)
    stripe_invoice_id = Varchar(length=255, null=True, default=None)
    payment_intent_id = Varchar(length=255, null=True, default=None)
    number_year = Integer(null=True, default=None)
    number_seq = Integer(null=True, default=None)
    finalized_at = Timestamptz(null=True, default=None)
    charge_attempts = Integer(default=0)
    last_charge_error = Text(null=True, default=None)
    dunning_started_at = Timestamptz(null=True, default=None)
    created_at = created_at()
    updated_at = updated_at()


class InvoiceEntry(Table, tablename="invoice_entries", db=APP_DB):
    """Which invoice a ledger entry is on: keyed by the entry, so at most one."""

    ledger_entry_id = UUID(primary_key=True)
    invoice_id = UUID()
    tenant_id = UUID()


class InvoiceLine(Table, tablename="invoice_lines", db=APP_DB):
    """One line of an invoice: the entries of one model and resource type, rounded to cents."""

    id = pk()
    invoice_id = UUID()
    tenant_id = UUID()
    model = Varchar(length=100, null=True, default=None)
    resource_type = Varchar(length=32)
    quantity = Numeric(digits=MONEY)
    exact_amount = Numeric(digits=MONEY)
    amount = Numeric(digits=(18, 2))


class InvoiceCounter(Table, tablename="invoice_counters", db=APP_DB):
    """The last invoice number given out in a year (gap-free numbering)."""

    year = Integer(primary_key=True)
    last_seq = Integer()


class BillingCustomer(Table, tablename="billing_customers", db=APP_DB):
    """A tenant's Stripe customer, created on first need."""

    tenant_id = UUID(primary_key=True)
    stripe_customer_id = Varchar(length=255, unique=True)
    created_at = created_at()


class Plan(Table, tablename="plans", db=APP_DB):
    """A plan of the catalog: tier, prices and the credit it includes each period."""

    id = pk()
    name = Varchar(length=64, unique=True)
    tier = Varchar(length=20)
    monthly_price = Numeric(digits=(18, 2))
    annual_price = Numeric(digits=(18, 2))
    included_credit = Numeric(digits=MONEY, default=Decimal("0"))
    max_concurrency = Integer(default=4)
    is_active = Boolean(default=True)
    created_at = created_at()
    updated_at = updated_at()


class CreditPurchase(Table, tablename="credit_purchases", db=APP_DB):
    """Credit that landed, once per `reference`; append-only (a trigger refuses edits)."""

    id = pk()
    tenant_id = UUID()
    amount = Numeric(digits=MONEY)
    source = Varchar(length=20)  # purchase | plan
    reference = Varchar(length=255, unique=True)
    balance_after = Numeric(digits=MONEY)
    created_at = created_at()


class SpendAlert(Table, tablename="spend_alerts", db=APP_DB):
    """A spend alert already mailed (its key says which cap or credit and which threshold)."""

    key = Varchar(length=255, primary_key=True)
    tenant_id = UUID()
    kind = Varchar(length=10)
    percent = Integer()
    created_at = created_at()


class StripeEvent(Table, tablename="stripe_events", db=APP_DB):
    """A Stripe webhook event already processed (each id once)."""

    id = Varchar(length=255, primary_key=True)
    type = Varchar(length=100)
    object_created = Timestamptz(null=True, default=None)
    received_at = created_at()


class Subscription(Table, tablename="subscriptions", db=APP_DB):
    """A tenant's plan and prepaid credit."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    plan_name = Varchar(length=64)
    status = Varchar(length=20, default="active")
    billing_cycle = Varchar(length=10, default="monthly")
    credit_balance = Numeric(digits=MONEY, default=Decimal("0"))
    stripe_subscription_id = Varchar(length=255, null=True, default=None)
    stripe_customer_id = Varchar(length=255, null=True, default=None)
    plan_started_at = Timestamptz(null=True, default=None)
    created_at = created_at()
    updated_at = updated_at()


class PaymentMethod(Table, tablename="payment_methods", db=APP_DB):
    """A stored Stripe payment method."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    stripe_payment_method_id = Varchar(length=255)
    stripe_customer_id = Varchar(length=255)
    type = Varchar(length=20, null=True, default=None)
    last4 = Varchar(length=4, null=True, default=None)
    brand = Varchar(length=20, null=True, default=None)
    exp_month = Integer(null=True, default=None)
    exp_year = Integer(null=True, default=None)
    is_default = Boolean(default=False)
    created_at = created_at()
    updated_at = updated_at()
