"""Per-tier limits (docs/limits.md): concurrent executions, requests and API calls per hour.

- `tier_limits`: one row per tier (free, pro, enterprise), the defaults of the product's
  plan table; the app admin edits them (`PATCH /api/v1/admin/tiers/{tier}`). NULL per hour
  means unlimited. Platform configuration, not a tenant's data: no tenant_id, no RLS.
- `tenants.max_concurrency` becomes an optional per-tenant override (NULL: the tier's
  `concurrent_executions`). The old default of 4 every tenant got is cleared, so existing
  tenants take their tier's limit.
- `rate_counters`: one fixed-hour window per (tenant, kind) shared by every web process;
  `hb_rate_take` counts one unit atomically (INSERT .. ON CONFLICT .. WHERE used < limit), so
  two processes can never both take the last unit. UNLOGGED: a crash only resets counters.
- `hb_tenant_slots` (the slot rule of the lifecycle migration) reads the limit as
  COALESCE(override, tier's, 4); its signature is unchanged, so `hb_admit` and `hb_promote`
  pick it up as they are.
- `hb_promote` also returns the promoted execution's session and user message, so a queued
  chat message is published like a direct one (docs/limits.md "Chat waits its turn").
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-01T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Tier limits, hourly rate counters, slot limit by tier, promote with session"

SLOTS = """
CREATE OR REPLACE FUNCTION hb_tenant_slots(p_tenant uuid)
RETURNS TABLE (tenant_status text, tenant_tier text, slot_limit int, busy int, waiting int)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  -- Transaction-scoped: released at commit/rollback, never leaks across pooled connections.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant::text, 0));
  RETURN QUERY
    SELECT t.status::text, t.tier::text,
           COALESCE(t.max_concurrency, (SELECT l.concurrent_executions FROM tier_limits l
                                         WHERE l.tier = t.tier), 4)::int,
           (count(e.id) FILTER (WHERE e.status IN ('pending', 'running')))::int,
           (count(e.id) FILTER (WHERE e.status = 'queued'))::int
    FROM tenants t
    LEFT JOIN executions e
      ON e.tenant_id = t.id AND e.status IN ('pending', 'running', 'queued')
    WHERE t.id = p_tenant
    GROUP BY t.id;
END $$
"""

PROMOTE = """
CREATE FUNCTION hb_promote(p_tenant uuid)
RETURNS TABLE (o_id uuid, o_agent_id uuid, o_input_data jsonb, o_correlation_id text,
               o_reply_to text, o_webhook_url text, o_source text, o_tier text,
               o_session_id uuid, o_message_id uuid)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_slots record;
BEGIN
  SELECT * INTO v_slots FROM hb_tenant_slots(p_tenant);
  IF NOT FOUND OR v_slots.tenant_status <> 'active' THEN
    RETURN;
  END IF;
  -- Oldest first: a tenant's jobs and chat messages start in the order they were sent.
  RETURN QUERY
    UPDATE executions e SET status = 'pending', updated_at = clock_timestamp()
     WHERE e.id IN (SELECT q.id FROM executions q
                     WHERE q.tenant_id = p_tenant AND q.status = 'queued'
                     ORDER BY q.created_at, q.id
                     LIMIT GREATEST(0, v_slots.slot_limit - v_slots.busy))
    RETURNING e.id, e.agent_id, e.input_data::jsonb, e.correlation_id::text, e.reply_to::text,
              e.webhook_url::text, e.source::text, v_slots.tenant_tier, e.session_id,
              (SELECT m.id FROM messages m WHERE m.execution_id = e.id AND m.tenant_id = p_tenant
                 AND m.role = 'user' LIMIT 1);
END $$
"""

# Outcome of one unit taken: allowed, the window's limit (NULL: unlimited), units used in it
# (after this one when allowed) and seconds until the window resets.
RATE_TAKE = """
CREATE OR REPLACE FUNCTION hb_rate_take(p_tenant uuid, p_kind text)
RETURNS TABLE (allowed boolean, rate_limit int, used int, reset_s int)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_window timestamptz := date_trunc('hour', now());
  v_limit int;
  v_used int;
  v_reset int := GREATEST(1, ceil(extract(epoch FROM (date_trunc('hour', now())
                                                     + interval '1 hour' - now())))::int);
BEGIN
  SELECT CASE p_kind WHEN 'requests' THEN l.requests_per_hour ELSE l.api_calls_per_hour END
    INTO v_limit
    FROM tenants t JOIN tier_limits l ON l.tier = t.tier WHERE t.id = p_tenant;
  IF v_limit IS NULL THEN  -- unlimited (or a tier without a row)
    RETURN QUERY SELECT true, NULL::int, NULL::int, v_reset;
    RETURN;
  END IF;
  INSERT INTO rate_counters AS c (tenant_id, kind, window_start, used)
  VALUES (p_tenant, p_kind, v_window, 1)
  ON CONFLICT (tenant_id, kind) DO UPDATE
    SET used = CASE WHEN c.window_start < v_window THEN 1 ELSE c.used + 1 END,
        window_start = v_window
    WHERE c.window_start < v_window OR c.used < v_limit
  RETURNING c.used INTO v_used;
  IF v_used IS NULL THEN
    RETURN QUERY SELECT false, v_limit, v_limit, v_reset;
  ELSE
    RETURN QUERY SELECT true, v_limit, v_used, v_reset;
  END IF;
END $$
"""


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    from piccolo_migrations.hirebuddha_2026_11_21t22_18_30_000000_security import tenant_table

    return [
        """CREATE TABLE tier_limits (
             tier varchar(20) PRIMARY KEY,
             concurrent_executions integer NOT NULL CHECK (concurrent_executions >= 0),
             requests_per_hour integer NULL CHECK (requests_per_hour >= 0),
             api_calls_per_hour integer NULL CHECK (api_calls_per_hour >= 0),
             updated_at timestamptz NOT NULL DEFAULT now())""",
        # The product's plan table: free 10/100/1,000, pro 50/1,000/10,000,
        # enterprise 200/unlimited/100,000.
        "INSERT INTO tier_limits (tier, concurrent_executions, requests_per_hour, api_calls_per_hour) "
        "VALUES ('free', 10, 100, 1000), ('pro', 50, 1000, 10000), ('enterprise', 200, NULL, 100000)",
        "ALTER TABLE tenants ALTER COLUMN max_concurrency DROP NOT NULL",
        "ALTER TABLE tenants ALTER COLUMN max_concurrency DROP DEFAULT",
        "UPDATE tenants SET max_concurrency = NULL WHERE max_concurrency = 4",
        """CREATE UNLOGGED TABLE rate_counters (
             tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
             kind varchar(20) NOT NULL,
             window_start timestamptz NOT NULL,
             used integer NOT NULL,
             PRIMARY KEY (tenant_id, kind))""",
        *tenant_table("rate_counters"),
        SLOTS,
        "DROP FUNCTION hb_promote(uuid)",
        PROMOTE,
        RATE_TAKE,
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
