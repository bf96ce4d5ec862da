"""The batched claim also says which built-in tools the agent gets.

Issue #11: every execution asked, in a transaction of its own beside its claim, whether its
agent has documents (`knowledge_search`) and whether its tenant turned the escalation tool
on (`escalate_to_human`): BEGIN, the scope, two queries and COMMIT per execution, 7-8% of
an actors process's CPU at 1,000 streams. `hb_begin_many` now returns both facts with the
claim (`o_has_documents`, `o_agent_tool`), read in the same statement and snapshot, so the
tools cost no round trip of their own (`runtime.executions.ToolFacts`).

Its result gains two columns, so the function is dropped and created again (in the
migration's one transaction: no claim sees it missing). The body is the one of
`hirebuddha_2026_12_02t05_00_00_000000_promote_alone` with the two columns added.
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration
from piccolo_migrations.hirebuddha_2026_12_02t05_00_00_000000_promote_alone import BEGIN_MANY_BODY

ID = "2026-12-02T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "The batched claim returns the facts that decide the agent's built-in tools"

_LAST_COLUMNS = "a.role IS NOT NULL, h.turns"
_FACTS = """a.role IS NOT NULL, h.turns,
       a.role IS NOT NULL AND EXISTS (
         SELECT 1 FROM agent_documents d WHERE d.tenant_id = p_tenant AND d.agent_id = c.agent_id),
       a.role IS NOT NULL AND COALESCE(
         (SELECT r.agent_tool FROM escalation_rules r WHERE r.tenant_id = p_tenant), false)"""
assert BEGIN_MANY_BODY.count(_LAST_COLUMNS) == 1

BEGIN_MANY = f"""
CREATE FUNCTION hb_begin_many(p_tenant uuid, p_ids uuid[], p_wait boolean[], p_limit int)
RETURNS TABLE (o_id uuid, o_busy boolean, o_attempt int, o_agent_id uuid, o_session_id uuid,
               o_input_data jsonb, o_progress jsonb, o_role text, o_llm_config jsonb,
               o_output_schema jsonb, o_has_agent boolean, o_turns json,
               o_has_documents boolean, o_agent_tool boolean)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true), set_config('app.partner_id', '', true),
          set_config('app.system', '', true);
  RETURN QUERY {BEGIN_MANY_BODY.replace(_LAST_COLUMNS, _FACTS)};
END $$
"""


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return ["DROP FUNCTION hb_begin_many(uuid, uuid[], boolean[], int)", BEGIN_MANY]


forwards = raw_migration(ID, DESCRIPTION, statements)
