"""Agents get an optional slug: the name the OpenAI-compatible API's `model` may use.

Unique per tenant (two tenants may both have a `support` agent); NULL for agents without one.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T23:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Agent slugs, unique per tenant"

STATEMENTS = [
    "ALTER TABLE agents ADD COLUMN slug varchar(64) NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,63}$')",
    "CREATE UNIQUE INDEX agents_tenant_slug ON agents (tenant_id, slug) WHERE slug IS NOT NULL",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="hirebuddha", description=DESCRIPTION)

    async def run() -> None:
        from runtime.db import OWNER_DB

        for sql in STATEMENTS:
            await OWNER_DB.run_ddl(sql, in_pool=False)

    manager.add_raw(run)
    return manager
