"""Every table, registered in the one Piccolo app (`runtime.piccolo_app`).

Tables are shared by web, actors and ledger (STYLE.md: settings, message schemas and tables
are the only shared things), so they live in runtime/ where all three may import them.
Every table is bound to the app engine (`runtime.db.APP_DB`), so row-level security applies.
"""

from runtime.tables.ai import (
    Agent,
    ChatSession,
    Document,
    DocumentChunk,
    Execution,
    Message,
    Workflow,
)
from runtime.tables.billing import (
    BillingCustomer,
    CreditPurchase,
    Invoice,
    InvoiceCounter,
    InvoiceEntry,
    InvoiceLine,
    LedgerEntry,
    PartnerRate,
    PaymentMethod,
    Plan,
    SpendAlert,
    StripeEvent,
    Subscription,
    SystemRate,
)
from runtime.tables.budget import BudgetReservation
from runtime.tables.config import AIModel, ProviderHealth, SystemConfig
from runtime.tables.identity import ApiKey, AuditLog, Partner, RefreshToken, Tenant, User
from runtime.tables.ops import DeadLetter, WebhookDelivery
from runtime.tables.scheduling import DevMail, ScheduledJob

ALL_TABLES = [
    Partner,
    Tenant,
    User,
    RefreshToken,
    ApiKey,
    AuditLog,
    Agent,
    Workflow,
    ChatSession,
    Execution,
    Message,
    Document,
    DocumentChunk,
    SystemRate,
    PartnerRate,
    LedgerEntry,
    Invoice,
    Subscription,
    PaymentMethod,
    AIModel,
    SystemConfig,
    DeadLetter,
    WebhookDelivery,
    BudgetReservation,
    ProviderHealth,
    ScheduledJob,
    BillingCustomer,
    InvoiceEntry,
    InvoiceLine,
    InvoiceCounter,
    StripeEvent,
    DevMail,
    Plan,
    CreditPurchase,
    SpendAlert,
]

# Tables holding one tenant's rows: RLS ENABLE + FORCE with the tenant policy (tenants itself
# is keyed by `id`). PARTNER_VISIBLE is the subset a partner admin may read for its tenants:
# money and membership, never agents or conversations.
TENANT_TABLES = [
    "users",
    "refresh_tokens",
    "api_keys",
    "audit_log",
    "agents",
    "workflows",
    "sessions",
    "executions",
    "messages",
    "documents",
    "document_chunks",
    "ledger_entries",
    "invoices",
    "subscriptions",
    "payment_methods",
    "webhook_deliveries",
    "budget_reservations",
    "dead_letters",
    "scheduled_jobs",
    "billing_customers",
    "invoice_entries",
    "invoice_lines",
    "credit_purchases",
    "spend_alerts",
]
PARTNER_VISIBLE = ["users", "ledger_entries", "invoices", "subscriptions"]

__all__ = [t.__name__ for t in ALL_TABLES] + ["ALL_TABLES", "TENANT_TABLES", "PARTNER_VISIBLE"]
