"""ledger_entries_tenant_created becomes (tenant_id, created_at DESC, id DESC) (issue #11).

The ledger finds each tenant's chain head with `ORDER BY created_at DESC, id DESC LIMIT 1`
(ledger/repository.py `heads_and_existing`, once per batch). Every entry of a batch shares
its transaction's `created_at`, so no index gave that order by itself: the planner chose
between an incremental sort over (tenant_id, created_at DESC) and a sort of the tenant's
whole range of (tenant_id, created_at) INCLUDE (...), and a prepared statement keeps the
plan it chose when the table was small. In a full `hirebuddha bench` run the ledger's
statement read every entry of the tenant for each batch (pg_stat_user_indexes: 612 scans,
28.5 million tuples), 75-130 ms per batch: 2,300-3,200 entries/s where the same ledger
sustains 9,700-16,000 alone. With `id` in the index the head is the first entry of one
index range scanned forwards, the cheapest plan at any table size or statistics.

The index keeps its name (the readers of web/usage and the chain verifier name it; their
keyset `ORDER BY created_at DESC, id DESC` is served exactly now too) and the table keeps
its count of indexes. Built without CONCURRENTLY, like every index of these migrations:
writes to ledger_entries wait for the build.
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-02T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "The ledger's chain-head index includes the entry id"


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [
        "CREATE INDEX ledger_entries_tenant_chain ON ledger_entries (tenant_id, created_at DESC, id DESC)",
        "DROP INDEX ledger_entries_tenant_created",
        "ALTER INDEX ledger_entries_tenant_chain RENAME TO ledger_entries_tenant_created",
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
