"""Billing (docs/billing.md): the durable scheduler, Stripe customers, invoices from the ledger.

- `scheduled_jobs`: the scheduler's queue (runtime/scheduler.py). Due jobs are claimed with
  `FOR UPDATE SKIP LOCKED` and leased; a job may carry a tenant (RLS like every tenant table).
- `billing_customers`: one Stripe customer per tenant, created lazily.
- `invoices` gets the year and sequence of its number (assigned at finalization, so numbers
  are gap-free per year: a draft has none), `invoice_number` becomes nullable, the status is
  one of draft | open | paid | uncollectible | void, and one invoice per tenant and period.
- `tenants.billing_suspended_at`: set when dunning suspended the tenant, so a payment
  resumes only a suspension that billing made.
- `invoice_entries`: which invoice each ledger entry is on. Its primary key is the entry, so
  no entry is ever on two invoices (the ledger itself stays append-only and untouched).
- `invoice_lines`: the rounded lines (model x resource type) of an invoice.
- `invoice_counters`: the last number given out per year, taken under a row lock.
- `payment_methods` gets the card's brand and expiry; a Stripe payment method is stored once.
- `dev_mailbox`: the last mails the development catcher (`hirebuddha mailcatcher`) received,
  shown to the app admin; empty in production.
- `stripe_events`: the id of every webhook event processed (each one once).
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-01T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Billing: scheduler jobs, Stripe customers, invoice numbering, lines and entries"


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    from piccolo_migrations.hirebuddha_2026_11_21t22_18_30_000000_security import tenant_table

    return [
        """CREATE TABLE scheduled_jobs (
  id uuid PRIMARY KEY,
  kind varchar(100) NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}',
  tenant_id uuid NULL REFERENCES tenants (id) ON DELETE CASCADE,
  dedupe_key varchar(200) NULL UNIQUE,
  run_at timestamptz NOT NULL,
  status varchar(12) NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'done', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 10 CHECK (max_attempts > 0),
  leased_until timestamptz NULL,
  last_error text NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)""",
        "CREATE INDEX scheduled_jobs_due ON scheduled_jobs (run_at) WHERE status IN ('pending', 'running')",
        *tenant_table("scheduled_jobs"),
        """CREATE TABLE billing_customers (
  tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  stripe_customer_id varchar(255) NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
)""",
        *tenant_table("billing_customers"),
        "ALTER TABLE invoices ALTER COLUMN invoice_number DROP NOT NULL",
        "ALTER TABLE invoices ADD COLUMN number_year integer NULL",
        "ALTER TABLE invoices ADD COLUMN number_seq integer NULL",
        "ALTER TABLE invoices ADD COLUMN finalized_at timestamptz NULL",
        "ALTER TABLE invoices ADD COLUMN charge_attempts integer NOT NULL DEFAULT 0",
        "ALTER TABLE invoices ADD COLUMN last_charge_error text NULL",
        "ALTER TABLE invoices ADD COLUMN dunning_started_at timestamptz NULL",
        "ALTER TABLE invoices ALTER COLUMN status SET DEFAULT 'draft'",
        "ALTER TABLE tenants ADD COLUMN billing_suspended_at timestamptz NULL",
        "UPDATE invoices SET status = 'open' WHERE status = 'pending'",
        "ALTER TABLE invoices ADD CONSTRAINT invoices_status "
        "CHECK (status IN ('draft', 'open', 'paid', 'uncollectible', 'void'))",
        "ALTER TABLE invoices ADD CONSTRAINT invoices_number_once UNIQUE (number_year, number_seq)",
        "CREATE UNIQUE INDEX invoices_tenant_period ON invoices (tenant_id, period_start)",
        """CREATE TABLE invoice_entries (
  ledger_entry_id uuid PRIMARY KEY REFERENCES ledger_entries (id) ON DELETE RESTRICT,
  invoice_id uuid NOT NULL REFERENCES invoices (id) ON DELETE RESTRICT,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT
)""",
        "CREATE INDEX invoice_entries_invoice ON invoice_entries (invoice_id)",
        *tenant_table("invoice_entries"),
        """CREATE TABLE invoice_lines (
  id uuid PRIMARY KEY,
  invoice_id uuid NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
  model varchar(100) NULL,
  resource_type varchar(32) NOT NULL,
  quantity numeric(18, 6) NOT NULL,
  exact_amount numeric(18, 6) NOT NULL,
  amount numeric(18, 2) NOT NULL
)""",
        "CREATE INDEX invoice_lines_invoice ON invoice_lines (invoice_id)",
        *tenant_table("invoice_lines"),
        """CREATE TABLE invoice_counters (
  year integer PRIMARY KEY,
  last_seq integer NOT NULL
)""",
        "ALTER TABLE payment_methods ADD COLUMN brand varchar(20) NULL",
        "ALTER TABLE payment_methods ADD COLUMN exp_month integer NULL",
        "ALTER TABLE payment_methods ADD COLUMN exp_year integer NULL",
        "CREATE UNIQUE INDEX payment_methods_stripe_id ON payment_methods (stripe_payment_method_id)",
        """CREATE TABLE dev_mailbox (
  id uuid PRIMARY KEY,
  mail_from text NOT NULL,
  rcpt_to text NOT NULL,
  subject text NOT NULL,
  body text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
)""",
        "CREATE INDEX dev_mailbox_received ON dev_mailbox (received_at DESC)",
        """CREATE TABLE stripe_events (
  id varchar(255) PRIMARY KEY,
  type varchar(100) NOT NULL,
  object_created timestamptz NULL,
  received_at timestamptz NOT NULL DEFAULT now()
)""",
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
