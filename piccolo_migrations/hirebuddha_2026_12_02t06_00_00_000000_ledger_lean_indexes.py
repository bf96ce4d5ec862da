"""ledger_entries loses its two single-column indexes, tenant_id and partner_id (issue #11).

Each is the leading column of a wider index the table keeps: (tenant_id, created_at DESC) and
(tenant_id, created_at) INCLUDE (...) for tenant_id, (partner_id, created_at) INCLUDE (...) for
partner_id, so every lookup by tenant or by partner (the foreign keys' RESTRICT checks too) is
still served by an index, and each ledger write updates seven indexes per entry instead of nine
(on a scratch copy of the table, 400-row inserts cost a tenth to a sixth less PostgreSQL CPU
without these two and one more; that third one, (tenant_id, created_at DESC), stays: it is
named by the readers of web/usage).
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-02T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger_entries without the tenant_id and partner_id indexes its wider indexes cover"


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [
        "DROP INDEX IF EXISTS ledger_entries_tenant_id",
        "DROP INDEX IF EXISTS ledger_entries_partner_id",
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
