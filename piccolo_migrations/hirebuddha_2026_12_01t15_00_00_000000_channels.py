"""Channels and white-label (docs/channels.md): widgets, Telegram/WhatsApp channels, the
conversations they open, the replies they sent, and partner brands.

- `widgets`: a tenant's embeddable chat widget for one agent; `public_key` is what the
  host page's `<script>` names (public, not a secret); `allowed_origins` the pages it may
  run on.
- `channels`: a Telegram bot or a WhatsApp Business number bound to one agent;
  `credentials` is Fernet ciphertext (runtime/crypto.py) of a JSON object (bot token,
  webhook secret; access token, app secret, verify token).
- `channel_sessions`: which session a widget visitor or an external chat id talks in (one
  per (channel, external id)); the session itself is an ordinary `sessions` row, so the
  conversation is in the tenant's history.
- `channel_deliveries`: each part of a reply sent through a channel's API, so a redelivered
  reply request never sends a part twice.
- `partner_brands`: a partner's white-label brand (one row per partner; platform data read
  in the system scope by brand resolution, written by the partner admin).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from piccolo_migrations.hirebuddha_2026_11_21t22_18_30_000000_security import PARTNER, SYSTEM, tenant_table

ID = "2026-12-01T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Widgets, Telegram/WhatsApp channels, channel sessions and deliveries, partner brands"

TABLES = [
    """CREATE TABLE widgets (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  name varchar(200) NOT NULL,
  public_key varchar(40) NOT NULL UNIQUE,
  allowed_origins text[] NOT NULL DEFAULT '{}',
  greeting varchar(500) NOT NULL DEFAULT '',
  title varchar(100) NOT NULL DEFAULT '',
  primary_color varchar(7) NOT NULL DEFAULT '#9c4a5a',
  text_color varchar(7) NOT NULL DEFAULT '#ffffff',
  visitor_rate_per_min integer NOT NULL DEFAULT 10 CHECK (visitor_rate_per_min > 0),
  key_rate_per_min integer NOT NULL DEFAULT 120 CHECK (key_rate_per_min > 0),
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)""",
    "CREATE INDEX widgets_tenant ON widgets (tenant_id)",
    """CREATE TABLE channels (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  kind varchar(10) NOT NULL CHECK (kind IN ('telegram', 'whatsapp')),
  name varchar(200) NOT NULL,
  credentials text NOT NULL,
  phone_number_id varchar(64) NULL,
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)""",
    "CREATE INDEX channels_tenant ON channels (tenant_id)",
    """CREATE TABLE channel_sessions (
  session_id uuid PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  kind varchar(10) NOT NULL CHECK (kind IN ('widget', 'telegram', 'whatsapp')),
  channel_id uuid NOT NULL,
  external_id varchar(128) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (channel_id, external_id)
)""",
    "CREATE INDEX channel_sessions_tenant ON channel_sessions (tenant_id)",
    """CREATE TABLE channel_deliveries (
  execution_id uuid NOT NULL,
  part integer NOT NULL,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  channel_id uuid NOT NULL,
  status_code integer NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (execution_id, part)
)""",
    "CREATE INDEX channel_deliveries_tenant ON channel_deliveries (tenant_id)",
    """CREATE TABLE partner_brands (
  partner_id uuid PRIMARY KEY REFERENCES partners (id) ON DELETE CASCADE,
  product_name varchar(100) NOT NULL,
  logo_url varchar(500) NULL,
  primary_color varchar(7) NOT NULL,
  accent_color varchar(7) NOT NULL,
  support_email varchar(320) NULL,
  console_host varchar(253) NULL UNIQUE,
  updated_at timestamptz NOT NULL DEFAULT now()
)""",
    "ALTER TABLE partner_brands ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE partner_brands FORCE ROW LEVEL SECURITY",
    f"CREATE POLICY partner_own ON partner_brands FOR ALL USING ({SYSTEM} OR partner_id = {PARTNER}) "
    f"WITH CHECK ({SYSTEM} OR partner_id = {PARTNER})",
]

TENANT_TABLES = ["widgets", "channels", "channel_sessions", "channel_deliveries"]


def statements() -> list[str]:
    out = list(TABLES)
    for table in TENANT_TABLES:
        out += tenant_table(table)
    return out


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="hirebuddha", description=DESCRIPTION)

    async def run() -> None:
        from runtime.db import OWNER_DB

        for sql in statements():
            await OWNER_DB.run_ddl(sql, in_pool=False)

    manager.add_raw(run)
    return manager
