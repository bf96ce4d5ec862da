"""What a running attempt has streamed, so that an attempt whose process dies is still billed."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T22:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "executions.progress: the running attempt's tokens so far (actors.progress)"


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [
        # Written by the running attempt at each heartbeat, read by the attempt that takes
        # over or by the sweeper, which bill a dead attempt once (actors/progress.py).
        "ALTER TABLE executions ADD COLUMN progress jsonb NULL",
    ]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="hirebuddha", description=DESCRIPTION)

    async def run() -> None:
        from runtime.db import OWNER_DB

        for sql in statements():
            await OWNER_DB.run_ddl(sql, in_pool=False)

    manager.add_raw(run)
    return manager
