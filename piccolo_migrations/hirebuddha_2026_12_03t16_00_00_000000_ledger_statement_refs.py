"""ledger_entries checks its tenant and partner once per statement, not once per row (issue #11).

The two foreign keys (tenant_id -> tenants, partner_id -> partners) ran PostgreSQL's
referential-integrity trigger for every inserted row: an index probe and a FOR KEY SHARE lock
of the same tenant row 512 times for a batch of 512 entries of one tenant. EXPLAIN ANALYZE of
the ledger's insert on a bench database: 5.2-6.6 ms of a 22-28 ms insert in the tenant key's
trigger alone, and the ledger's write path is serial (README "Performance").

The same guarantees, checked per statement:
- `ledger_entries_refs`, AFTER INSERT FOR EACH STATEMENT over the inserted rows: every
  distinct tenant (and non-null partner) must exist; each is locked FOR KEY SHARE until
  commit, as the foreign key locked it, so it cannot be deleted or re-keyed under the insert;
  a missing one fails the statement with SQLSTATE 23503 (foreign_key_violation), as before.
  0.6-0.8 ms for the batch above.
- `ledger_refs_kept`, BEFORE DELETE OR UPDATE OF id on tenants and partners: a row that
  ledger entries reference cannot be deleted or given another id (the keys were ON DELETE
  RESTRICT; ON UPDATE CASCADE could never succeed, ledger entries being append-only).

Both functions run as their owner with `app.system` on, as the foreign key's checks did:
row-level security never hides a referenced or referencing row from them.
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-03T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger_entries: tenant and partner references checked once per statement"

_CHECK = """
CREATE FUNCTION ledger_entries_refs() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public SET app.system = 'on' AS $$
DECLARE
  wanted bigint;
  locked bigint;
  missing uuid;
BEGIN
  SELECT count(DISTINCT tenant_id) INTO wanted FROM inserted;
  SELECT count(*) INTO locked FROM (
    SELECT 1 FROM tenants WHERE id IN (SELECT tenant_id FROM inserted) FOR KEY SHARE
  ) AS kept;
  IF locked < wanted THEN
    SELECT i.tenant_id INTO missing FROM inserted i
     WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = i.tenant_id) LIMIT 1;
    RAISE EXCEPTION 'ledger entry of unknown tenant %', missing
      USING ERRCODE = 'foreign_key_violation', TABLE = 'ledger_entries';
  END IF;
  SELECT count(DISTINCT partner_id) INTO wanted FROM inserted;
  IF wanted > 0 THEN
    SELECT count(*) INTO locked FROM (
      SELECT 1 FROM partners WHERE id IN (SELECT partner_id FROM inserted) FOR KEY SHARE
    ) AS kept;
    IF locked < wanted THEN
      SELECT i.partner_id INTO missing FROM inserted i
       WHERE i.partner_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM partners p WHERE p.id = i.partner_id) LIMIT 1;
      RAISE EXCEPTION 'ledger entry of unknown partner %', missing
        USING ERRCODE = 'foreign_key_violation', TABLE = 'ledger_entries';
    END IF;
  END IF;
  RETURN NULL;
END $$
"""

_KEPT = """
CREATE FUNCTION ledger_refs_kept() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public SET app.system = 'on' AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
    RETURN NEW;
  END IF;
  IF TG_TABLE_NAME = 'tenants' THEN
    PERFORM 1 FROM ledger_entries WHERE tenant_id = OLD.id LIMIT 1;
  ELSE
    PERFORM 1 FROM ledger_entries WHERE partner_id = OLD.id LIMIT 1;
  END IF;
  IF FOUND THEN
    RAISE EXCEPTION '% % has ledger entries', TG_TABLE_NAME, OLD.id
      USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$
"""


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [
        _CHECK,
        "CREATE TRIGGER ledger_entries_refs AFTER INSERT ON ledger_entries "
        "REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_refs()",
        _KEPT,
        "CREATE TRIGGER tenants_ledger_refs BEFORE DELETE OR UPDATE OF id ON tenants "
        "FOR EACH ROW EXECUTE FUNCTION ledger_refs_kept()",
        "CREATE TRIGGER partners_ledger_refs BEFORE DELETE OR UPDATE OF id ON partners "
        "FOR EACH ROW EXECUTE FUNCTION ledger_refs_kept()",
        "ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_tenant_id_fkey, "
        "DROP CONSTRAINT ledger_entries_partner_id_fkey",
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
