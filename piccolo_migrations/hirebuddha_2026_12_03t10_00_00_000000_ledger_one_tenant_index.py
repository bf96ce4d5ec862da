"""ledger_entries keeps one index per tenant instead of two (issue #11).

`ledger_entries_tenant_created` (tenant_id, created_at DESC, id DESC) served the chain head
and the keyset pages; `ledger_entries_tenant_month` (tenant_id, created_at) INCLUDE
(tenant_cost, execution_id) served admission's month-to-date spend (index-only) and
GET /usage. Both are one range of a tenant ordered by created_at: one index,
(tenant_id, created_at, id) INCLUDE (tenant_cost, execution_id), serves all of them, the
head and the newest-first pages by scanning it backwards (a B-tree reads either way at the
same cost, and the head is still the first entry of one range, whatever plan a prepared
statement kept), the sums index-only as before.

Every entry the ledger writes updated both. Measured on a migrated database (47,000 entries
of one tenant, then 60 inserts of 472 entries each, foreign keys off, the ledger's own
statement shape): 29.7 -> 26.2 ms per insert (median), with the one index measured on the
larger table. The ledger's write path is serial (README "Performance"), so PostgreSQL's time
per entry is its throughput.

The index keeps the name `ledger_entries_tenant_created`, which the readers' comments use.
Built without CONCURRENTLY, like every index of these migrations: writes to ledger_entries
wait for the build.
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-03T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger_entries: one tenant index serves the chain head, the pages and the month's spend"


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [
        "CREATE INDEX ledger_entries_tenant_chain ON ledger_entries (tenant_id, created_at, id) "
        "INCLUDE (tenant_cost, execution_id)",
        "DROP INDEX ledger_entries_tenant_created",
        "DROP INDEX ledger_entries_tenant_month",
        "ALTER INDEX ledger_entries_tenant_chain RENAME TO ledger_entries_tenant_created",
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
