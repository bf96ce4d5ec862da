"""Providers and models: the catalog gets its limits, provider health gets a table.

- `ai_models`: `context_window` and `max_output_tokens` (the history budget and the
  admission bound come from them), `model_type` is `chat` or `embedding` (`text` was the
  only value before and meant chat), and the built-in `demo-1` model is in the catalog on
  every install (agents may only name catalog models).
- `provider_health`: one row per provider, written by the actors when a provider's circuit
  breaker changes state (not per call), read by the admin console. Platform data, no tenant.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T22:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Model catalog limits and types, demo model seeded, provider health"

STATEMENTS = [
    "ALTER TABLE ai_models ADD COLUMN context_window integer NOT NULL DEFAULT 8192 "
    "CHECK (context_window > 0)",
    "ALTER TABLE ai_models ADD COLUMN max_output_tokens integer NOT NULL DEFAULT 4096 "
    "CHECK (max_output_tokens > 0)",
    "UPDATE ai_models SET model_type = 'chat' WHERE model_type = 'text'",
    "ALTER TABLE ai_models ALTER COLUMN model_type SET DEFAULT 'chat'",
    "ALTER TABLE ai_models ADD CONSTRAINT ai_models_type CHECK (model_type IN ('chat', 'embedding'))",
    "INSERT INTO ai_models (id, model_key, model_name, provider, model_type, is_active, "
    "context_window, max_output_tokens, created_at, updated_at) VALUES (gen_random_uuid(), "
    "'demo-1', 'Demo (offline)', 'demo', 'chat', true, 8192, 1024, now(), now()) "
    "ON CONFLICT (model_key) DO NOTHING",
    "INSERT INTO ai_models (id, model_key, model_name, provider, model_type, is_active, "
    "context_window, max_output_tokens, created_at, updated_at) VALUES (gen_random_uuid(), "
    "'demo-embed', 'Demo embeddings (offline)', 'demo', 'embedding', true, 8192, 1, now(), now()) "
    "ON CONFLICT (model_key) DO NOTHING",
    """CREATE TABLE provider_health (
  name varchar(50) PRIMARY KEY,
  breaker_state varchar(12) NOT NULL DEFAULT 'closed',
  failures integer NOT NULL DEFAULT 0,
  last_error text NULL,
  last_error_at timestamptz NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
)""",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="hirebuddha", description=DESCRIPTION)

    async def run() -> None:
        from runtime.db import OWNER_DB

        for sql in STATEMENTS:
            await OWNER_DB.run_ddl(sql, in_pool=False)

    manager.add_raw(run)
    return manager
