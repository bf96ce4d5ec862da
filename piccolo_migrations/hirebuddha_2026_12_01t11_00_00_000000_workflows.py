"""Workflows: versions on the definition, the node runs of a run, admission of a run.

- `workflows.version` goes up with every change of `dag_structure`; a run copies the DAG it
  started with into its execution (`executions.input_data.workflow`) and its number into
  `executions.workflow_version`, so a later edit never changes a run under way.
- `workflow_node_runs`: one row per node (and per `map` item, `item` >= 0) of a run: its
  status, output and streamed text. The workflow actor that takes over after a crash reads
  them and re-runs only what had not finished (docs/workflows.md).
- `hb_admit_workflow`: the admission of a run, under the same tenant lock and slot rule
  (`hb_tenant_slots`) as `hb_admit`, writing a `pending` (or, for queue jobs over the limit,
  `queued`) execution that names the workflow instead of an agent.
"""

from piccolo_migrations.hirebuddha_2026_11_21t22_18_30_000000_security import tenant_table
from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-01T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Workflow versions, node runs and run admission"

NODE_RUNS = """
CREATE TABLE workflow_node_runs (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  execution_id uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
  node_id varchar(64) NOT NULL,
  item integer NOT NULL DEFAULT -1,
  status varchar(12) NOT NULL,
  branch varchar(16) NULL,
  output jsonb NULL,
  text text NOT NULL DEFAULT '',
  error text NULL,
  attempt integer NOT NULL DEFAULT 0,
  usage jsonb NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz NULL,
  UNIQUE (execution_id, node_id, item))
"""

ADMIT_WORKFLOW = """
CREATE OR REPLACE FUNCTION hb_admit_workflow(
  p_tenant uuid, p_user uuid, p_workflow uuid, p_id uuid, p_source text, p_input jsonb,
  p_correlation text, p_reply_to text, p_webhook_url text, p_wait boolean)
RETURNS TABLE (outcome text, out_execution uuid, out_status text, out_tier text,
               out_limit int, out_version int)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_wf record;
  v_slots record;
  v_has_tenant boolean;
  v_dup record;
  v_status text;
BEGIN
  SELECT w.version, w.dag_structure INTO v_wf FROM workflows w
   WHERE w.id = p_workflow AND w.tenant_id = p_tenant AND w.is_active;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'workflow_not_found', NULL::uuid, NULL::text, NULL::text, NULL::int, NULL::int;
    RETURN;
  END IF;
  SELECT * INTO v_slots FROM hb_tenant_slots(p_tenant);
  v_has_tenant := FOUND;
  IF p_correlation IS NOT NULL THEN
    SELECT e.id, e.status::text AS status INTO v_dup FROM executions e
     WHERE e.tenant_id = p_tenant AND e.correlation_id = p_correlation LIMIT 1;
    IF FOUND THEN
      RETURN QUERY SELECT 'duplicate', v_dup.id, v_dup.status, NULL::text, NULL::int, NULL::int;
      RETURN;
    END IF;
  END IF;
  IF NOT v_has_tenant OR v_slots.tenant_status <> 'active' THEN
    RETURN QUERY SELECT 'tenant_inactive', NULL::uuid, NULL::text, NULL::text, NULL::int, NULL::int;
    RETURN;
  END IF;
  IF NOT p_wait AND v_slots.busy >= v_slots.slot_limit THEN
    RETURN QUERY SELECT 'rate_limited', NULL::uuid, NULL::text, NULL::text, v_slots.slot_limit, NULL::int;
    RETURN;
  END IF;
  v_status := CASE WHEN p_wait AND (v_slots.busy >= v_slots.slot_limit OR v_slots.waiting > 0)
                   THEN 'queued' ELSE 'pending' END;
  INSERT INTO executions (id, tenant_id, agent_id, workflow_id, workflow_version, session_id,
                          user_id, source, status, input_data, attempt, created_at, updated_at,
                          correlation_id, reply_to, webhook_url)
  VALUES (p_id, p_tenant, NULL, p_workflow, v_wf.version, NULL, p_user, p_source, v_status,
          jsonb_build_object('input', p_input,
                             'workflow', jsonb_build_object('id', p_workflow, 'version', v_wf.version,
                                                            'dag', v_wf.dag_structure)),
          0, clock_timestamp(), clock_timestamp(), p_correlation, p_reply_to, p_webhook_url);
  RETURN QUERY SELECT 'admitted', p_id, v_status, v_slots.tenant_tier, v_slots.slot_limit, v_wf.version;
END $$
"""


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [
        "ALTER TABLE workflows ADD COLUMN version integer NOT NULL DEFAULT 1",
        "ALTER TABLE workflows ADD COLUMN description text NULL",
        "ALTER TABLE executions ADD COLUMN workflow_version integer NULL",
        # Hosts a tenant's `tool` nodes may call (besides passing runtime.urlguard).
        "ALTER TABLE tenants ADD COLUMN workflow_tool_hosts text[] NOT NULL DEFAULT '{}'",
        # Serves a workflow's run history.
        "CREATE INDEX executions_workflow_created ON executions (workflow_id, created_at DESC) "
        "WHERE workflow_id IS NOT NULL",
        NODE_RUNS,
        *tenant_table("workflow_node_runs"),
        ADMIT_WORKFLOW,
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
