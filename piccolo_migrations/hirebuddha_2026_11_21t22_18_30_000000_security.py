"""Row-level security on every tenant table, the append-only ledger, throttling buckets.

Policies read three transaction-local settings written by `runtime.db.scope`:
`app.tenant_id` (one tenant's rows), `app.partner_id` (read view of a partner's tenants on
the money/membership tables only) and `app.system` ('on' for deliberate cross-tenant work).
NULLIF(..., '') because a pooled connection reads an ended transaction's setting back as ''
(ARCHITECTURE "Pitfalls"): an unscoped query then sees zero rows instead of raising.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

# Frozen copies: a migration must not change when runtime.tables grows.
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
]
PARTNER_VISIBLE = ["users", "ledger_entries", "invoices", "subscriptions"]

ID = "2026-11-21T22:18:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "RLS policies, ledger append-only triggers, rate limit buckets, indexes"

SYSTEM = "current_setting('app.system', true) = 'on'"
TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
PARTNER = "NULLIF(current_setting('app.partner_id', true), '')::uuid"


def tenant_table(table: str) -> list[str]:
    """RLS statements for one table keyed by tenant_id (reused by later migrations)."""
    own = f"({SYSTEM} OR tenant_id = {TENANT})"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} FOR ALL USING {own} WITH CHECK {own}",
    ]


def _partner_read(table: str) -> str:
    return (
        f"CREATE POLICY partner_read ON {table} FOR SELECT USING "
        f"(tenant_id IN (SELECT id FROM tenants WHERE partner_id = {PARTNER}))"
    )


TENANTS = [
    "ALTER TABLE tenants ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE tenants FORCE ROW LEVEL SECURITY",
    f"CREATE POLICY tenant_isolation ON tenants FOR ALL USING ({SYSTEM} OR id = {TENANT}) "
    f"WITH CHECK ({SYSTEM} OR id = {TENANT})",
    # A partner reads, creates and suspends its own tenants, nothing else.
    f"CREATE POLICY partner_read ON tenants FOR SELECT USING (partner_id = {PARTNER})",
    f"CREATE POLICY partner_insert ON tenants FOR INSERT WITH CHECK (partner_id = {PARTNER})",
    f"CREATE POLICY partner_update ON tenants FOR UPDATE USING (partner_id = {PARTNER}) "
    f"WITH CHECK (partner_id = {PARTNER})",
]

LEDGER = [
    """CREATE OR REPLACE FUNCTION ledger_entries_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'ledger_entries is append-only: % refused; write a reversing entry',
           TG_OP USING ERRCODE = 'insufficient_privilege';
       END $$""",
    "CREATE TRIGGER ledger_entries_no_update_delete BEFORE UPDATE OR DELETE ON ledger_entries "
    "FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()",
    "CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only()",
]

OTHER = [
    # Login/register throttling shared by every web process; UNLOGGED: losing it on a crash
    # only resets counters.
    """CREATE UNLOGGED TABLE rate_limit_buckets (
         key text PRIMARY KEY,
         window_start timestamptz NOT NULL,
         hits integer NOT NULL)""",
    # Serves the idempotent send: one user message per (session, client_id).
    "CREATE UNIQUE INDEX messages_session_client ON messages (session_id, client_id) "
    "WHERE client_id IS NOT NULL",
    # Serves history loads: a session's messages in order.
    "CREATE INDEX messages_session_created ON messages (session_id, created_at)",
    # Serves admission's count of a tenant's running executions.
    "CREATE INDEX executions_tenant_status ON executions (tenant_id, status)",
    # Serves the ledger listing: a tenant's entries newest first.
    "CREATE INDEX ledger_entries_tenant_created ON ledger_entries (tenant_id, created_at DESC)",
    # Serves rate lookups at an event's time.
    "CREATE INDEX system_rates_model_valid ON system_rates (model, resource_type, valid_from)",
]


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    out: list[str] = list(TENANTS)
    for table in TENANT_TABLES:
        out += tenant_table(table)
    out += [_partner_read(t) for t in PARTNER_VISIBLE]
    return out + LEDGER + OTHER


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="hirebuddha", description=DESCRIPTION)

    async def run() -> None:
        from runtime.db import OWNER_DB

        for sql in statements():
            await OWNER_DB.run_ddl(sql, in_pool=False)

    manager.add_raw(run)
    return manager
