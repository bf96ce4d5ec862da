"""Execution lifecycle in SQL: the tenant-slot rule, admission and promotion as functions.

`hb_tenant_slots` is the one definition of the slot rule: under the tenant's advisory lock,
a tenant holds at most `max_concurrency` executions `pending` or `running`, and its
`queued` ones wait for a slot in arrival order. `hb_admit` (one round trip instead of a
lock, a read and an insert) and `hb_promote` both call it. `executions.merged_into` names
the execution that answers a cancelled one's message together with its own (`merge`
double-texting). `runtime.executions` is the Python side of all three.

Every function is VOLATILE plpgsql, so each statement in it takes a fresh snapshot: the
statements after the lock see what the previous holder committed. They run as the caller
(SECURITY INVOKER), so row-level security applies as to any other query.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T22:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Execution lifecycle functions (slot rule, admit, promote), executions.merged_into"

SLOTS = """
CREATE OR REPLACE FUNCTION hb_tenant_slots(p_tenant uuid)
RETURNS TABLE (tenant_status text, tenant_tier text, slot_limit int, busy int, waiting int)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  -- Transaction-scoped: released at commit/rollback, never leaks across pooled connections.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant::text, 0));
  RETURN QUERY
    SELECT t.status::text, t.tier::text, t.max_concurrency::int,
           (count(e.id) FILTER (WHERE e.status IN ('pending', 'running')))::int,
           (count(e.id) FILTER (WHERE e.status = 'queued'))::int
    FROM tenants t
    LEFT JOIN executions e
      ON e.tenant_id = t.id AND e.status IN ('pending', 'running', 'queued')
    WHERE t.id = p_tenant
    GROUP BY t.id;
END $$
"""

# Outcomes: admitted | duplicate | agent_not_found | session_busy | tenant_inactive |
# rate_limited. The messages a client reads are written in Python (runtime.executions).
ADMIT = """
CREATE OR REPLACE FUNCTION hb_admit(
  p_tenant uuid, p_user uuid, p_agent uuid, p_session uuid, p_client_id text,
  p_correlation text, p_id uuid, p_message_id uuid, p_source text, p_input jsonb,
  p_content text, p_reply_to text, p_webhook_url text, p_wait boolean)
RETURNS TABLE (outcome text, out_execution uuid, out_message uuid, out_status text,
               out_tier text, out_interrupted uuid[], out_limit int)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_policy text;
  v_slots record;
  v_has_tenant boolean;
  v_dup record;
  v_active uuid[] := '{}';
  v_in_flight int;
  v_status text;
BEGIN
  -- Read before the lock: it needs none, and every other send of the tenant waits on it.
  SELECT a.double_texting INTO v_policy FROM agents a
   WHERE a.id = p_agent AND a.tenant_id = p_tenant AND a.is_active;
  SELECT * INTO v_slots FROM hb_tenant_slots(p_tenant);
  v_has_tenant := FOUND;
  -- A retried client_id (chat) or correlation_id (jobs): the earlier execution answers.
  IF p_session IS NOT NULL AND p_client_id IS NOT NULL THEN
    SELECT m.id, m.execution_id INTO v_dup FROM messages m
     WHERE m.session_id = p_session AND m.tenant_id = p_tenant AND m.client_id = p_client_id
     LIMIT 1;
    IF FOUND THEN
      RETURN QUERY SELECT 'duplicate', v_dup.execution_id, v_dup.id, NULL::text, NULL::text,
                          NULL::uuid[], NULL::int;
      RETURN;
    END IF;
  END IF;
  IF p_correlation IS NOT NULL THEN
    SELECT e.id, e.status::text AS status INTO v_dup FROM executions e
     WHERE e.tenant_id = p_tenant AND e.correlation_id = p_correlation LIMIT 1;
    IF FOUND THEN
      RETURN QUERY SELECT 'duplicate', v_dup.id, NULL::uuid, v_dup.status, NULL::text,
                          NULL::uuid[], NULL::int;
      RETURN;
    END IF;
  END IF;
  IF v_policy IS NULL THEN
    RETURN QUERY SELECT 'agent_not_found', NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        NULL::uuid[], NULL::int;
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
                          NULL::uuid[], NULL::int;
      RETURN;
    END IF;
    IF v_policy NOT IN ('interrupt', 'merge') THEN
      v_active := '{}';
    END IF;
  END IF;
  IF NOT v_has_tenant OR v_slots.tenant_status <> 'active' THEN
    RETURN QUERY SELECT 'tenant_inactive', NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        NULL::uuid[], NULL::int;
    RETURN;
  END IF;
  -- The executions about to be interrupted give their slots to this one.
  v_in_flight := v_slots.busy - cardinality(v_active);
  IF NOT p_wait AND v_in_flight >= v_slots.slot_limit THEN
    RETURN QUERY SELECT 'rate_limited', NULL::uuid, NULL::uuid, NULL::text, NULL::text,
                        NULL::uuid[], v_slots.slot_limit;
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
                      v_status, v_slots.tenant_tier, v_active, v_slots.slot_limit;
END $$
"""

PROMOTE = """
CREATE OR REPLACE FUNCTION hb_promote(p_tenant uuid)
RETURNS TABLE (o_id uuid, o_agent_id uuid, o_input_data jsonb, o_correlation_id text,
               o_reply_to text, o_webhook_url text, o_source text, o_tier text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_slots record;
BEGIN
  SELECT * INTO v_slots FROM hb_tenant_slots(p_tenant);
  IF NOT FOUND OR v_slots.tenant_status <> 'active' THEN
    RETURN;
  END IF;
  -- Oldest first: a tenant's jobs start in the order they were sent.
  RETURN QUERY
    UPDATE executions e SET status = 'pending', updated_at = clock_timestamp()
     WHERE e.id IN (SELECT q.id FROM executions q
                     WHERE q.tenant_id = p_tenant AND q.status = 'queued'
                     ORDER BY q.created_at, q.id
                     LIMIT GREATEST(0, v_slots.slot_limit - v_slots.busy))
    RETURNING e.id, e.agent_id, e.input_data::jsonb, e.correlation_id::text, e.reply_to::text,
              e.webhook_url::text, e.source::text, v_slots.tenant_tier;
END $$
"""


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [
        "ALTER TABLE executions ADD COLUMN merged_into uuid NULL",
        SLOTS,
        ADMIT,
        PROMOTE,
    ]


async def _apply() -> None:
    from runtime.db import OWNER_DB

    for sql in statements():
        await OWNER_DB.run_ddl(sql, in_pool=False)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="hirebuddha", description=DESCRIPTION)
    manager.add_raw(_apply)
    return manager
