"""The audit trail is append-only like the ledger: a trigger refuses UPDATE, DELETE and
TRUNCATE, and `hirebuddha migrate` grants the app role only SELECT and INSERT on it
(runtime/migrate.py APPEND_ONLY). Indexes serve the keyset-paged listings, newest first.
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-11-30T23:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Append-only audit_log and its listing indexes"


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [
        """CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
               USING ERRCODE = 'insufficient_privilege';
           END $$""",
        "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
        # Serves GET /tenant/audit (and /admin/audit?tenant_id=): one tenant, newest first.
        "CREATE INDEX audit_log_tenant_created ON audit_log (tenant_id, created_at DESC, id DESC)",
        # Serves GET /admin/audit: everything, newest first.
        "CREATE INDEX audit_log_created ON audit_log (created_at DESC, id DESC)",
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
