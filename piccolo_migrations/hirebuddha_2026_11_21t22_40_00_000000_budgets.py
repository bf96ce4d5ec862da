"""Budgets: admission reservations, monthly spend caps, and the ledger's reporting indexes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-21T22:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Budget reservations, monthly caps, indexes for earnings, rates and reversals"

RESERVATIONS = """
CREATE TABLE budget_reservations (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  user_id uuid NULL,
  execution_id uuid NOT NULL,
  agent_id uuid NULL,
  model varchar(100) NOT NULL,
  amount numeric(18,6) NOT NULL CHECK (amount >= 0),
  spent numeric(18,6) NOT NULL DEFAULT 0,
  released_at timestamptz NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)"""


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    from piccolo_migrations.hirebuddha_2026_11_21t22_18_30_000000_security import tenant_table

    return [
        RESERVATIONS,
        *tenant_table("budget_reservations"),
        # Serves settlement (the ledger, by execution) and release (the actor); one
        # reservation per execution.
        "CREATE UNIQUE INDEX budget_reservations_execution ON budget_reservations (execution_id)",
        # Serves admission's sum of open holds per tenant and per user: only rows still
        # holding money (amount > spent) are in it, so it stays small.
        "CREATE INDEX budget_reservations_open ON budget_reservations (tenant_id, user_id) "
        "INCLUDE (amount, spent) WHERE amount > spent",
        # Serves the sweeper: unreleased reservations, oldest first.
        "CREATE INDEX budget_reservations_unreleased ON budget_reservations (created_at) "
        "WHERE released_at IS NULL",
        # Optional monthly spend caps (tenant_cost per calendar month, UTC); NULL = no cap.
        "ALTER TABLE tenants ADD COLUMN monthly_cap numeric(18,6) NULL CHECK (monthly_cap >= 0)",
        "ALTER TABLE users ADD COLUMN monthly_cap numeric(18,6) NULL CHECK (monthly_cap >= 0)",
        # Serves GET /partner/earnings: one index-only aggregate per partner and period.
        "CREATE INDEX ledger_entries_partner_created ON ledger_entries (partner_id, created_at) "
        "INCLUDE (tenant_id, tenant_cost, partner_commission)",
        # Serves admission's month-to-date spend of a tenant (index-only sum) and GET /usage.
        "CREATE INDEX ledger_entries_tenant_month ON ledger_entries (tenant_id, created_at) "
        "INCLUDE (tenant_cost, execution_id)",
        # Serves the partner rate lookup of one system rate at a time (rate_book, PUT /partner/rates).
        "CREATE INDEX partner_rates_partner_rate_valid ON partner_rates "
        "(partner_id, system_rate_id, valid_from)",
        # At most one reversal per entry, enforced by the database.
        "CREATE UNIQUE INDEX ledger_entries_reverses ON ledger_entries (reverses_id) "
        "WHERE reverses_id IS NOT NULL",
    ]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="hirebuddha", description=DESCRIPTION)

    async def run() -> None:
        from runtime.db import OWNER_DB

        for sql in statements():
            await OWNER_DB.run_ddl(sql, in_pool=False)

    manager.add_raw(run)
    return manager
