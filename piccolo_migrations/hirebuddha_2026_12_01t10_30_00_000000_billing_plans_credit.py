"""Billing, second part (docs/billing.md): plans, prepaid credit purchases, spend alerts.

- `plans`: the app admin's catalog; a plan sets the tenant's tier and concurrency and grants
  its included credit each period. Platform data, no tenant.
- `credit_purchases`: every credit that landed (a purchase through a PaymentIntent, a plan's
  included credit), append-only like the ledger: a trigger refuses UPDATE, DELETE and
  TRUNCATE, and `reference` (the intent id, or plan + period) makes each land once.
  `subscriptions.credit_balance` is the running balance the ledger debits.
- `spend_alerts`: alerts already sent (80% / 100% of a cap or of the credit), once per key.
- `subscriptions.plan_started_at`: when the current plan started (its fee's anniversary).
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-01T10:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Billing plans, append-only credit purchases, spend alerts"


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    from piccolo_migrations.hirebuddha_2026_11_21t22_18_30_000000_security import tenant_table

    return [
        """CREATE TABLE plans (
  id uuid PRIMARY KEY,
  name varchar(64) NOT NULL UNIQUE,
  tier varchar(20) NOT NULL CHECK (tier IN ('free', 'pro', 'enterprise')),
  monthly_price numeric(18, 2) NOT NULL CHECK (monthly_price >= 0),
  annual_price numeric(18, 2) NOT NULL CHECK (annual_price >= 0),
  included_credit numeric(18, 6) NOT NULL DEFAULT 0 CHECK (included_credit >= 0),
  max_concurrency integer NOT NULL DEFAULT 4 CHECK (max_concurrency > 0),
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)""",
        """CREATE TABLE credit_purchases (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
  amount numeric(18, 6) NOT NULL CHECK (amount > 0),
  source varchar(20) NOT NULL CHECK (source IN ('purchase', 'plan')),
  reference varchar(255) NOT NULL UNIQUE,
  balance_after numeric(18, 6) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)""",
        "CREATE INDEX credit_purchases_tenant ON credit_purchases (tenant_id, created_at DESC)",
        *tenant_table("credit_purchases"),
        """CREATE OR REPLACE FUNCTION credit_purchases_append_only() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             RAISE EXCEPTION 'credit_purchases is append-only: % refused', TG_OP
               USING ERRCODE = 'insufficient_privilege';
           END $$""",
        "CREATE TRIGGER credit_purchases_no_update_delete BEFORE UPDATE OR DELETE ON credit_purchases "
        "FOR EACH ROW EXECUTE FUNCTION credit_purchases_append_only()",
        "CREATE TRIGGER credit_purchases_no_truncate BEFORE TRUNCATE ON credit_purchases "
        "FOR EACH STATEMENT EXECUTE FUNCTION credit_purchases_append_only()",
        """CREATE TABLE spend_alerts (
  key varchar(255) PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  kind varchar(10) NOT NULL CHECK (kind IN ('cap', 'credit')),
  percent integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)""",
        *tenant_table("spend_alerts"),
        "ALTER TABLE subscriptions ADD COLUMN plan_started_at timestamptz NULL",
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
