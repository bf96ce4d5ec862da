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
    WorkflowNodeRun,
)
from runtime.tables.billing import (
    Invoice,
    LedgerEntry,
    PartnerRate,
    PaymentMethod,
    Subscription,
    SystemRate,
)
from runtime.tables.budget import BudgetReservation
from runtime.tables.config import AIModel, ProviderHealth, SystemConfig
from runtime.tables.identity import ApiKey, AuditLog, Partner, RefreshToken, Tenant, User
from runtime.tables.ops import DeadLetter, WebhookDelivery

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
]
PARTNER_VISIBLE = ["users", "ledger_entries", "invoices", "subscriptions"]

__all__ = [t.__name__ for t in ALL_TABLES] + ["ALL_TABLES", "TENANT_TABLES", "PARTNER_VISIBLE"]
