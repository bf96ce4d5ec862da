"""Executions of one tenant end in one statement: `hb_finish_many` (issue #11).

Each execution's end was a transaction of its own: BEGIN with the scope, the UPDATE of its
row, the INSERT of the session's assistant message, the budget reservation's lookup and
COMMIT, five round trips and a commit per execution (about 6% of an actors process's
samples at 1,000 streams in the previous round's profile).

`hb_finish_many` takes the ends of one tenant that an actors process asks for at once
(`actors.store.TenantBatches`) and writes them in ONE statement that is its own transaction,
like `hb_begin_many` sets its own scope: each row moves running -> its ended status only
while the attempt still owns it (`status = 'running' AND attempt = ...`), the rows it moved
get their assistant message, and it answers, per execution it ended, whether an unreleased
budget reservation is left for `ledger.budget.release` (that release stays a transaction of
its own; the ledger's sweeper releases what a crash between the two leaves).
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-02T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "The ends of many executions of one tenant in one statement"

FINISH_MANY = """
CREATE FUNCTION hb_finish_many(p_tenant uuid, p_ids uuid[], p_attempts int[], p_status text[],
                               p_results text[], p_usages text[], p_errors text[],
                               p_sessions uuid[], p_messages text[])
RETURNS TABLE (o_id uuid, o_held boolean)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true), set_config('app.partner_id', '', true),
          set_config('app.system', '', true);
  RETURN QUERY
  WITH b AS (
    SELECT * FROM unnest(p_ids, p_attempts, p_status, p_results, p_usages, p_errors, p_sessions,
                         p_messages) AS b(id, attempt, status, result, usage, error, session_id, message)
  ), done AS (
    UPDATE executions e SET status = b.status, completed_at = now(), updated_at = now(),
           result_data = b.result::jsonb, usage = b.usage::jsonb, error_message = b.error
      FROM b
     WHERE e.id = b.id AND e.tenant_id = p_tenant AND e.status = 'running' AND e.attempt = b.attempt
    RETURNING e.id, b.session_id, b.message
  ), said AS (
    INSERT INTO messages (id, tenant_id, session_id, execution_id, role, content)
    SELECT gen_random_uuid(), p_tenant, d.session_id, d.id, 'assistant', d.message
      FROM done d WHERE d.session_id IS NOT NULL AND d.message <> ''
  )
  SELECT d.id, EXISTS (
           SELECT 1 FROM budget_reservations r
            WHERE r.execution_id = d.id AND r.tenant_id = p_tenant AND r.released_at IS NULL)
    FROM done d;
END $$
"""


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [FINISH_MANY]


forwards = raw_migration(ID, DESCRIPTION, statements)
