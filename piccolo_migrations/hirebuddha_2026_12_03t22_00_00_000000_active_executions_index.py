"""The slot count reads a tenant's active executions, not every execution it ever ran (issue #11).

`hb_tenant_slots` (every admission batch and every promotion, under the tenant's advisory
lock) counts the tenant's `queued`, `pending` and `running` executions. Its plan scanned
`executions_tenant_status` by tenant alone and filtered the statuses: PostgreSQL did not use
the status list as an index condition there, so the count read every execution the tenant
ever ran (1,500 ended ones: 1,500 rows, `tests/test_plans_without_statistics.py`), a cost
growing with history under the lock every send waits on. Once analyzed, the planner took
`executions_status` instead, whose active entries are every tenant's.

A partial index of the active executions by tenant holds what the count asks for and
nothing else: it is as large as the platform's live work (plus dead versions until vacuum),
whatever the history. The count's join condition implies the index's predicate, so the
planner can use it with or without statistics.

Built without CONCURRENTLY, like every index of these migrations.
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-03T22:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "executions: a partial index of the active executions by tenant for the slot count"

ACTIVE_INDEX = (
    "CREATE INDEX executions_tenant_active ON executions (tenant_id) "
    "WHERE status IN ('pending', 'running', 'queued')"
)


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [ACTIVE_INDEX]


forwards = raw_migration(ID, DESCRIPTION, statements)
