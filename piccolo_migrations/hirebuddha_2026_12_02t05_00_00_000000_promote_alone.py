"""Promotion in one statement of its own, holding the tenant's lock only while it runs.

Issue #11: every execution's end promotes its tenant's queued executions (`hb_promote`,
under the tenant's advisory lock, the lock admission takes). It ran in a transaction of
three round trips (scope, `hb_promote`, COMMIT), so the lock was held from the statement to
the COMMIT the actors process sent after it, a client round trip in a busy process. With
200 chats ending at once the promotions queued on the lock, each holding a pooled
connection of the actors while it waited, and admission waited behind them
(pg_stat_activity: `hb_promote` waiting on the advisory lock most of a 200-chat burst).

- `hb_promote_alone(p_tenant)`: `hb_promote` as ONE statement run as its own transaction (it
  sets the tenant scope itself, like `hb_admit_batch`): the lock is released by the
  statement's own commit, with no client round trip while it is held. Under the lock it
  first looks for a queued execution of the tenant (an index probe) and, when there is none,
  returns without counting the tenant's slots. Taking the lock before that look keeps
  promotion ordered with admission exactly as before: an admission that queued an execution
  while this one's slot was taken has committed before the look.
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-02T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Promotion in one statement of its own"

PROMOTE_ALONE = """
CREATE FUNCTION hb_promote_alone(p_tenant uuid)
RETURNS TABLE (o_id uuid, o_agent_id uuid, o_input_data jsonb, o_correlation_id text,
               o_reply_to text, o_webhook_url text, o_source text, o_tier text,
               o_session_id uuid, o_message_id uuid)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true), set_config('app.partner_id', '', true),
          set_config('app.system', '', true);
  -- The lock hb_promote (hb_tenant_slots) takes; re-taking it there is free (same transaction).
  PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant::text, 0));
  IF NOT EXISTS (SELECT 1 FROM executions q WHERE q.tenant_id = p_tenant AND q.status = 'queued') THEN
    RETURN;
  END IF;
  RETURN QUERY SELECT * FROM hb_promote(p_tenant);
END $$
"""


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [PROMOTE_ALONE]


forwards = raw_migration(ID, DESCRIPTION, statements)
