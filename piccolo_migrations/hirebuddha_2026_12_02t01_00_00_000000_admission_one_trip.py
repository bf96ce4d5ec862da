"""Admission in one statement, and many admissions of a tenant under one lock and one commit.

Issue #11: a chat send cost six round trips (scope, budget limits read, `hb_admit`, the
hourly request counter, commit), three of them under the tenant's advisory lock, and every
admission of a tenant committed (one WAL flush, ~6 ms here) while holding that lock, so 200
concurrent sends of one tenant waited for 200 flushes in a row.

- `hb_admit` gains three arguments and three result columns:
  * it takes the hourly request unit itself (`hb_rate_take(.., 'requests')`), after the checks
    that refuse and before the writes: a refused or duplicate send still costs nothing, and
    over the hour it answers `request_quota_exceeded` with the window (`out_rate_limit`,
    `out_rate_used`, `out_rate_reset`) and writes nothing;
  * `p_budget_free`: the caller holds no budget; if a budget limit applies to the tenant or
    user (a monthly cap, or prepaid credit: `ledger.budget_repository.Limits.any`, the same
    rule) it answers `budget_limited` and writes nothing, and the caller admits again in a
    transaction that holds the budget under the lock (`web.executions.service.submit`);
  * `p_hand_check`: a chat message on a session a person holds answers `session_held` and
    writes nothing (the caller routes it to the person, `web.handover`); the session row is
    read FOR SHARE, so a takeover waits for the admission to commit, as it waited for the
    routing read before.
- `hb_admit_batch(p_tenant, p_items jsonb)`: several admissions of one tenant (each item
  `hb_admit`'s arguments by name) in ONE statement run as its own transaction (it sets the
  tenant scope itself): the advisory lock is taken once and the WAL is flushed once for all
  of them. Each item runs `hb_admit` in order, so each sees the slots the previous took;
  refusals write nothing, so one item's refusal never undoes another's admission.
- `hb_api_take(p_tenant)`: the API-call unit of the quota middleware in one statement (it sets
  the scope itself; `rate_counters` is UNLOGGED, so its commit flushes nothing).
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-02T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Admission in one statement; batched admissions; one-statement API-call quota"

OLD_SIGNATURE = (
    "hb_admit(uuid, uuid, uuid, uuid, text, text, uuid, uuid, text, jsonb, text, text, text, boolean)"
)

# Outcomes: admitted | duplicate | agent_not_found | session_busy | tenant_inactive |
# tenant_suspended | model_inactive | rate_limited | request_quota_exceeded |
# budget_limited | session_held. Client messages are written in Python (web.executions).
ADMIT = """
CREATE FUNCTION hb_admit(
  p_tenant uuid, p_user uuid, p_agent uuid, p_session uuid, p_client_id text,
  p_correlation text, p_id uuid, p_message_id uuid, p_source text, p_input jsonb,
  p_content text, p_reply_to text, p_webhook_url text, p_wait boolean,
  p_budget_free boolean DEFAULT false, p_hand_check boolean DEFAULT false)
RETURNS TABLE (outcome text, out_execution uuid, out_message uuid, out_status text,
               out_tier text, out_interrupted uuid[], out_limit int,
               out_rate_limit int, out_rate_used int, out_rate_reset int)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_policy text;
  v_model_active boolean;
  v_slots record;
  v_has_tenant boolean;
  v_dup record;
  v_active uuid[] := '{}';
  v_in_flight int;
  v_status text;
  v_hand text;
  v_rate record;
BEGIN
  -- Read before the lock: they need none, and every other send of the tenant waits on it.
  SELECT a.double_texting, m.is_active INTO v_policy, v_model_active FROM agents a
    LEFT JOIN ai_models m ON m.model_key = a.llm_config->>'model'
   WHERE a.id = p_agent AND a.tenant_id = p_tenant AND a.is_active;
  IF p_hand_check AND p_session IS NOT NULL THEN
    -- FOR SHARE: a takeover waits for this admission, so the message goes by the hand it
    -- commits under.
    SELECT s.hand INTO v_hand FROM sessions s
     WHERE s.id = p_session AND s.tenant_id = p_tenant FOR SHARE;
    IF v_hand = 'human' THEN
      RETURN QUERY SELECT 'session_held', NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                          NULL::uuid[], NULL::int, NULL::int, NULL::int, NULL::int;
      RETURN;
    END IF;
  END IF;
  -- The budget rule of ledger.budget_repository (Limits.any): a cap, or prepaid credit.
  IF p_budget_free AND EXISTS (
      SELECT 1 FROM tenants t LEFT JOIN users u ON u.id = p_user AND u.tenant_id = t.id
       WHERE t.id = p_tenant
         AND (t.monthly_cap IS NOT NULL OR u.monthly_cap IS NOT NULL
              OR (EXISTS (SELECT 1 FROM subscriptions s WHERE s.tenant_id = t.id)
                  AND NOT EXISTS (SELECT 1 FROM payment_methods pm WHERE pm.tenant_id = t.id)))) THEN
    RETURN QUERY SELECT 'budget_limited', NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        NULL::uuid[], NULL::int, NULL::int, NULL::int, NULL::int;
    RETURN;
  END IF;
  SELECT * INTO v_slots FROM hb_tenant_slots(p_tenant);
  v_has_tenant := FOUND;
  -- A retried client_id (chat) or correlation_id (jobs): the earlier execution answers.
  IF p_session IS NOT NULL AND p_client_id IS NOT NULL THEN
    SELECT m.id, m.execution_id INTO v_dup FROM messages m
     WHERE m.session_id = p_session AND m.tenant_id = p_tenant AND m.client_id = p_client_id
     LIMIT 1;
    IF FOUND THEN
      RETURN QUERY SELECT 'duplicate', v_dup.execution_id, v_dup.id, NULL::text, NULL::text,
                          NULL::uuid[], NULL::int, NULL::int, NULL::int, NULL::int;
      RETURN;
    END IF;
  END IF;
  IF p_correlation IS NOT NULL THEN
    SELECT e.id, e.status::text AS status INTO v_dup FROM executions e
     WHERE e.tenant_id = p_tenant AND e.correlation_id = p_correlation LIMIT 1;
    IF FOUND THEN
      RETURN QUERY SELECT 'duplicate', v_dup.id, NULL::uuid, v_dup.status, NULL::text,
                          NULL::uuid[], NULL::int, NULL::int, NULL::int, NULL::int;
      RETURN;
    END IF;
  END IF;
  IF v_policy IS NULL THEN
    RETURN QUERY SELECT 'agent_not_found', NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        NULL::uuid[], NULL::int, NULL::int, NULL::int, NULL::int;
    RETURN;
  END IF;
  IF v_model_active IS FALSE THEN
    RETURN QUERY SELECT 'model_inactive', NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        NULL::uuid[], NULL::int, NULL::int, NULL::int, NULL::int;
    RETURN;
  END IF;
  v_policy := COALESCE(NULLIF(v_policy, ''), 'enqueue');
  -- Double-texting: the session's pending/running executions, oldest first.
  IF p_session IS NOT NULL THEN
    SELECT COALESCE(array_agg(e.id ORDER BY e.created_at), '{}') INTO v_active FROM executions e
     WHERE e.session_id = p_session AND e.tenant_id = p_tenant
       AND e.status IN ('pending', 'running');
    IF cardinality(v_active) > 0 AND v_policy = 'reject' THEN
      RETURN QUERY SELECT 'session_busy', NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                          NULL::uuid[], NULL::int, NULL::int, NULL::int, NULL::int;
      RETURN;
    END IF;
    IF v_policy NOT IN ('interrupt', 'merge') THEN
      v_active := '{}';
    END IF;
  END IF;
  IF v_has_tenant AND v_slots.tenant_status = 'suspended' THEN
    RETURN QUERY SELECT 'tenant_suspended', NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        NULL::uuid[], NULL::int, NULL::int, NULL::int, NULL::int;
    RETURN;
  END IF;
  IF NOT v_has_tenant OR v_slots.tenant_status <> 'active' THEN
    RETURN QUERY SELECT 'tenant_inactive', NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        NULL::uuid[], NULL::int, NULL::int, NULL::int, NULL::int;
    RETURN;
  END IF;
  -- The executions about to be interrupted give their slots to this one.
  v_in_flight := v_slots.busy - cardinality(v_active);
  IF NOT p_wait AND v_in_flight >= v_slots.slot_limit THEN
    RETURN QUERY SELECT 'rate_limited', NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        NULL::uuid[], v_slots.slot_limit, NULL::int, NULL::int, NULL::int;
    RETURN;
  END IF;
  -- The hourly request unit: after every check that refuses, before any write (docs/limits.md).
  SELECT * INTO v_rate FROM hb_rate_take(p_tenant, 'requests');
  IF NOT v_rate.allowed THEN
    RETURN QUERY SELECT 'request_quota_exceeded', NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        NULL::uuid[], NULL::int, v_rate.rate_limit, v_rate.used, v_rate.reset_s;
    RETURN;
  END IF;
  -- A job over the limit waits `queued`, also behind the tenant's other waiting jobs (FIFO).
  v_status := CASE WHEN p_wait AND (v_in_flight >= v_slots.slot_limit OR v_slots.waiting > 0)
                   THEN 'queued' ELSE 'pending' END;
  -- clock_timestamp(), not now(): under the lock it orders executions as admitted, which is
  -- the order `enqueue` answers them in.
  INSERT INTO executions (id, tenant_id, agent_id, session_id, user_id, source, status,
                          input_data, attempt, created_at, updated_at, correlation_id,
                          reply_to, webhook_url)
  VALUES (p_id, p_tenant, p_agent, p_session, p_user, p_source, v_status, p_input, 0,
          clock_timestamp(), clock_timestamp(), p_correlation, p_reply_to, p_webhook_url);
  IF p_session IS NOT NULL THEN
    INSERT INTO messages (id, tenant_id, session_id, execution_id, role, content, client_id,
                          created_at)
    VALUES (p_message_id, p_tenant, p_session, p_id, 'user', p_content, p_client_id,
            clock_timestamp());
  END IF;
  IF v_policy = 'merge' AND cardinality(v_active) > 0 THEN
    UPDATE executions e SET merged_into = p_id
     WHERE e.id = ANY (v_active) AND e.tenant_id = p_tenant;
  END IF;
  RETURN QUERY SELECT 'admitted', p_id, CASE WHEN p_session IS NULL THEN NULL ELSE p_message_id END,
                      v_status, v_slots.tenant_tier, v_active, v_slots.slot_limit,
                      v_rate.rate_limit, v_rate.used, v_rate.reset_s;
END $$
"""

# One statement, its own transaction: the scope is set here (transaction-local, like
# runtime.db.scope), then each item is admitted in order under the one advisory lock.
ADMIT_BATCH = """
CREATE FUNCTION hb_admit_batch(p_tenant uuid, p_items jsonb)
RETURNS TABLE (ord int, outcome text, out_execution uuid, out_message uuid, out_status text,
               out_tier text, out_interrupted uuid[], out_limit int,
               out_rate_limit int, out_rate_used int, out_rate_reset int)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_item jsonb;
  v_ord bigint;
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true), set_config('app.partner_id', '', true),
          set_config('app.system', '', true);
  FOR v_item, v_ord IN SELECT i.value, i.ordinality FROM jsonb_array_elements(p_items) WITH ORDINALITY i
  LOOP
    RETURN QUERY SELECT v_ord::int, a.* FROM hb_admit(
      p_tenant, (v_item->>'user')::uuid, (v_item->>'agent')::uuid, (v_item->>'session')::uuid,
      v_item->>'client_id', v_item->>'correlation', (v_item->>'id')::uuid,
      (v_item->>'message_id')::uuid, v_item->>'source', v_item->'input', v_item->>'content',
      v_item->>'reply_to', v_item->>'webhook_url', (v_item->>'wait')::boolean,
      (v_item->>'budget_free')::boolean, (v_item->>'hand_check')::boolean) a;
  END LOOP;
END $$
"""

API_TAKE = """
CREATE FUNCTION hb_api_take(p_tenant uuid)
RETURNS TABLE (allowed boolean, rate_limit int, used int, reset_s int)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true), set_config('app.partner_id', '', true),
          set_config('app.system', '', true);
  RETURN QUERY SELECT * FROM hb_rate_take(p_tenant, 'api_calls');
END $$
"""


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [f"DROP FUNCTION {OLD_SIGNATURE}", ADMIT, ADMIT_BATCH, API_TAKE]


forwards = raw_migration(ID, DESCRIPTION, statements)
