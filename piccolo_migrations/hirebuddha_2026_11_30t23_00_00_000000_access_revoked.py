"""Tell every web process, at commit, when a partner or tenant is suspended or a user deactivated.

A trigger NOTIFYs `hb_access_revoked` with the partner, tenant or user whose access ended; PostgreSQL delivers
notifications only when the transaction commits (never for a rolled-back one), and to
every listening connection, so each web process's listener (`web/security/revocation.py`)
closes the matching open sockets at once, whichever path made the change (app admin,
partner admin, tenant admin, a script).
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-11-30T23:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "NOTIFY hb_access_revoked on tenant suspension and user deactivation"

FUNCTION = """
CREATE OR REPLACE FUNCTION notify_access_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'partners' THEN
    PERFORM pg_notify('hb_access_revoked', json_build_object('partner_id', NEW.id)::text);
  ELSIF TG_TABLE_NAME = 'tenants' THEN
    PERFORM pg_notify('hb_access_revoked', json_build_object('tenant_id', NEW.id)::text);
  ELSE
    PERFORM pg_notify('hb_access_revoked',
      json_build_object('tenant_id', NEW.tenant_id, 'user_id', NEW.id)::text);
  END IF;
  RETURN NULL;
END $$"""


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [
        FUNCTION,
        "CREATE TRIGGER tenants_access_revoked AFTER UPDATE OF status ON tenants FOR EACH ROW "
        "WHEN (NEW.status <> 'active' AND OLD.status IS DISTINCT FROM NEW.status) "
        "EXECUTE FUNCTION notify_access_revoked()",
        "CREATE TRIGGER partners_access_revoked AFTER UPDATE OF status ON partners FOR EACH ROW "
        "WHEN (NEW.status <> 'active' AND OLD.status IS DISTINCT FROM NEW.status) "
        "EXECUTE FUNCTION notify_access_revoked()",
        "CREATE TRIGGER users_access_revoked AFTER UPDATE OF is_active ON users FOR EACH ROW "
        "WHEN (NOT NEW.is_active AND OLD.is_active) "
        "EXECUTE FUNCTION notify_access_revoked()",
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
