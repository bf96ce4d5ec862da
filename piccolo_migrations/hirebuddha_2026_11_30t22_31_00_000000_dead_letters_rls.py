"""RLS on dead_letters: they carry a tenant's id and its payloads, so they are tenant data too.

The app admin's listing and re-drive, and the sink that stores them, already run in the
system scope (`runtime.deadletters`, `web/admin/deadletters.py`); a dead letter without a
tenant (a job whose API key was unknown) is visible in the system scope only.
"""

from collections.abc import Awaitable, Callable

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T22:31:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "RLS for dead letters"


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    from piccolo_migrations.hirebuddha_2026_11_21t22_18_30_000000_security import tenant_table

    return tenant_table("dead_letters")


def edited(sql: str, edits: list[tuple[str, str]], what: str) -> str:
    """`sql` (an earlier migration's text) with each `(old, new)` edit made; every `old` must
    occur exactly once, so a later change of that text fails the migration loudly instead of
    leaving an edit silently unmade (reused by the migrations that amend a function)."""
    for old, new in edits:
        if sql.count(old) != 1:
            raise RuntimeError(f"{what} changed under this migration: {old!r} not found once")
        sql = sql.replace(old, new)
    return sql


def raw_migration(
    migration_id: str, description: str, statements: Callable[[], list[str]]
) -> Callable[[], Awaitable[MigrationManager]]:
    """The `forwards` of a migration that runs raw statements as the owner (reused by later ones)."""

    async def forwards() -> MigrationManager:
        manager = MigrationManager(migration_id=migration_id, app_name="hirebuddha", description=description)

        async def run() -> None:
            from runtime.db import OWNER_DB

            for sql in statements():
                await OWNER_DB.run_ddl(sql, in_pool=False)

        manager.add_raw(run)
        return manager

    return forwards


forwards = raw_migration(ID, DESCRIPTION, statements)
