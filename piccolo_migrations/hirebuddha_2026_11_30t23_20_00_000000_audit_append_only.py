"""The audit trail is append-only like the ledger: a trigger refuses UPDATE, DELETE and
TRUNCATE, and `hirebuddha migrate` grants the app role only SELECT and INSERT on it
(runtime/migrate.py APPEND_ONLY). Indexes serve the keyset-paged listings, newest first.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

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


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="hirebuddha", description=DESCRIPTION)

    async def run() -> None:
        from runtime.db import OWNER_DB

        for sql in statements():
            await OWNER_DB.run_ddl(sql, in_pool=False)

    manager.add_raw(run)
    return manager
