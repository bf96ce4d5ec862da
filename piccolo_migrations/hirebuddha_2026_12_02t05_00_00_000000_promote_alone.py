"""Promotion and the actors' batched claim, each one statement of its own.

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
- `hb_begin_many(p_tenant, p_ids, p_wait, p_limit)`: the claim, agent and history of several
  executions of one tenant (`runtime.executions.begin_many`, the claims an actors process
  asks for at once) as ONE statement run as its own transaction (it sets the tenant scope
  itself): one round trip per batch of claims instead of BEGIN, the statement and COMMIT,
  so a busy actors process never holds a transaction open between them. Its body is
  `runtime.executions._BEGIN` for several ids at once (`unnest`, a LATERAL history each).
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-02T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Promotion and the batched claim in one statement of their own"

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


# The batched form of runtime.executions._BEGIN (a change of it is a later migration).
BEGIN_MANY_BODY = """
WITH asked AS (
  SELECT b.id, b.wait FROM unnest(p_ids, p_wait) AS b(id, wait)),
me AS (
  SELECT e.id, e.session_id, e.created_at, asked.wait FROM executions e JOIN asked ON e.id = asked.id
  WHERE e.tenant_id = p_tenant),
turn AS (
  SELECT me.id, me.wait AND EXISTS (
    SELECT 1 FROM executions p
    WHERE p.tenant_id = p_tenant AND p.session_id = me.session_id AND p.status IN ('pending', 'running')
      AND (p.created_at, p.id) < (me.created_at, me.id)) AS busy
  FROM me),
claimed AS (
  UPDATE executions e SET status = 'running', attempt = e.attempt + 1,
    started_at = COALESCE(e.started_at, now()), updated_at = now()
  FROM turn
  WHERE e.id = turn.id AND e.tenant_id = p_tenant AND e.status IN ('pending', 'running') AND NOT turn.busy
  RETURNING e.id, e.attempt, e.agent_id, e.session_id, e.input_data, e.progress, e.created_at)
SELECT turn.id, turn.busy, c.attempt, c.agent_id, c.session_id, c.input_data, c.progress,
       a.role, a.llm_config, a.output_schema, a.role IS NOT NULL, h.turns
FROM turn
LEFT JOIN claimed c ON c.id = turn.id
LEFT JOIN agents a ON a.id = c.agent_id AND a.tenant_id = p_tenant AND a.is_active
LEFT JOIN LATERAL (
  SELECT json_agg(json_build_object('role', t.role, 'content', t.content, 'merged', t.merged)
                  ORDER BY t.e_at DESC, t.e_id DESC, t.asked, t.m_at DESC) AS turns
  FROM (
    SELECT m.role, m.content, e.merged_into IS NOT NULL AS merged,
           COALESCE(e.created_at, m.created_at) AS e_at, COALESCE(e.id, m.id) AS e_id,
           m.role = 'user' AS asked, m.created_at AS m_at
    FROM messages m
    LEFT JOIN executions e ON e.id = m.execution_id AND e.tenant_id = p_tenant
    WHERE m.tenant_id = p_tenant AND m.session_id = c.session_id AND a.role IS NOT NULL
      AND (COALESCE(e.created_at, m.created_at), COALESCE(e.id, m.id)) <= (c.created_at, c.id)
      AND NOT COALESCE(e.id = c.id AND m.role <> 'user', false)
      AND NOT (e.merged_into IS NOT NULL AND m.role <> 'user')
    ORDER BY 4 DESC, 5 DESC, (m.role = 'user'), m.created_at DESC LIMIT p_limit) t
) h ON c.session_id IS NOT NULL
"""

BEGIN_MANY = f"""
CREATE FUNCTION hb_begin_many(p_tenant uuid, p_ids uuid[], p_wait boolean[], p_limit int)
RETURNS TABLE (o_id uuid, o_busy boolean, o_attempt int, o_agent_id uuid, o_session_id uuid,
               o_input_data jsonb, o_progress jsonb, o_role text, o_llm_config jsonb,
               o_output_schema jsonb, o_has_agent boolean, o_turns json)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true), set_config('app.partner_id', '', true),
          set_config('app.system', '', true);
  RETURN QUERY {BEGIN_MANY_BODY};
END $$
"""


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [PROMOTE_ALONE, BEGIN_MANY]


forwards = raw_migration(ID, DESCRIPTION, statements)
