"""RLS on webhook_deliveries; one queue job per (tenant, correlation_id)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-21T22:28:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "RLS for webhook deliveries, dedupe index for queue jobs"


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    from piccolo_migrations.hirebuddha_2026_11_21t22_18_30_000000_security import tenant_table

    return [
        *tenant_table("webhook_deliveries"),
        # Serves the duplicate check of queue intake: a repeated correlation_id of a tenant
        # finds the execution that already ran instead of running it twice.
        "CREATE UNIQUE INDEX executions_tenant_correlation ON executions (tenant_id, correlation_id) "
        "WHERE correlation_id IS NOT NULL",
        # Serves the dead-letter listing, newest first.
        "CREATE INDEX dead_letters_created ON dead_letters (created_at DESC)",
    ]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="hirebuddha", description=DESCRIPTION)

    async def run() -> None:
        from runtime.db import OWNER_DB

        for sql in statements():
            await OWNER_DB.run_ddl(sql, in_pool=False)

    manager.add_raw(run)
    return manager
