"""Every table, registered in the one Piccolo app (`runtime.piccolo_app`).

Tables are shared by web, actors and ledger (STYLE.md: settings, message schemas and tables
are the only shared things), so they live in runtime/ where all three may import them.
Every table is bound to the app engine (`runtime.db.APP_DB`), so row-level security applies.
"""

from runtime.tables.ai import (
    Agent,
    AgentDocument,
    ChatSession,
    Document,
    DocumentChunk,
    EscalationRule,
    Execution,
    Message,
    Workflow,
    WorkflowNodeRun,
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
from runtime.tables.channels import Channel, ChannelDelivery, ChannelSession, PartnerBrand, Widget
from runtime.tables.config import AIModel, ProviderHealth, SystemConfig, TierLimit
from runtime.tables.identity import (
    AccountToken,
    ApiKey,
    AuditLog,
    DomainClaim,
    IdentityProvider,
    MfaRecoveryCode,
    OidcLogin,
    Partner,
    RefreshToken,
    SupportGrant,
    Tenant,
    User,
    UserIdentity,
    WebauthnChallenge,
    WebauthnCredential,
)
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
    WorkflowNodeRun,
    ChatSession,
    Execution,
    Message,
    EscalationRule,
    Document,
    DocumentChunk,
    AgentDocument,
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
    TierLimit,
    AccountToken,
    DomainClaim,
    MfaRecoveryCode,
    WebauthnCredential,
    WebauthnChallenge,
    IdentityProvider,
    OidcLogin,
    UserIdentity,
    SupportGrant,
    Widget,
    Channel,
    ChannelSession,
    ChannelDelivery,
    PartnerBrand,
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

# Tables whose rows are never updated or deleted (a trigger and the grants enforce it; the
# ledger's hash chain and the audit trail depend on it). GDPR erasure keeps them too.
APPEND_ONLY = ("ledger_entries", "audit_log", "credit_purchases")

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
    "workflow_node_runs",
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
    "escalation_rules",
    "agent_documents",
    "rate_counters",
    "account_tokens",
    "domain_claims",
    "mfa_recovery_codes",
    "webauthn_credentials",
    "webauthn_challenges",
    "user_identities",
    "support_grants",
    "widgets",
    "channels",
    "channel_sessions",
    "channel_deliveries",
    "scheduled_jobs",
    "billing_customers",
    "invoice_entries",
    "invoice_lines",
    "credit_purchases",
    "spend_alerts",
]
PARTNER_VISIBLE = ["users", "ledger_entries", "invoices", "subscriptions"]

__all__ = [t.__name__ for t in ALL_TABLES] + ["ALL_TABLES", "TENANT_TABLES", "PARTNER_VISIBLE"]
