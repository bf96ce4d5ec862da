"""Admission refuses an agent whose catalog model is deactivated (`model_inactive`).

`hb_admit` (the lifecycle migration) gains one check, right after "agent not found": the
agent's `llm_config.model` joined to `ai_models`; a model the app admin switched off gives
the outcome `model_inactive` (running executions finish). A model missing from the catalog
is not refused here: saving an agent already requires a catalog model (web.agents).
The function is the lifecycle migration's text with these two edits, so it stays one
definition rather than a second copy that drifts.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from piccolo_migrations.hirebuddha_2026_11_30t22_30_00_000000_lifecycle import ADMIT
from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import edited

ID = "2026-11-30T23:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "hb_admit refuses agents of a deactivated model"

_EDITS = [
    ("  v_status text;\n", "  v_status text;\n  v_model_active boolean;\n"),
    (
        "  SELECT a.double_texting INTO v_policy FROM agents a\n"
        "   WHERE a.id = p_agent AND a.tenant_id = p_tenant AND a.is_active;\n",
        "  SELECT a.double_texting, m.is_active INTO v_policy, v_model_active FROM agents a\n"
        "    LEFT JOIN ai_models m ON m.model_key = a.llm_config->>'model'\n"
        "   WHERE a.id = p_agent AND a.tenant_id = p_tenant AND a.is_active;\n",
    ),
    (
        "  v_policy := COALESCE(NULLIF(v_policy, ''), 'enqueue');\n",
        "  IF v_model_active IS FALSE THEN\n"
        "    RETURN QUERY SELECT 'model_inactive', NULL::uuid, NULL::uuid, NULL::text, NULL::text,\n"
        "                        NULL::uuid[], NULL::int;\n"
        "    RETURN;\n"
        "  END IF;\n"
        "  v_policy := COALESCE(NULLIF(v_policy, ''), 'enqueue');\n",
    ),
]


def admit_sql() -> str:
    """`hb_admit` with the model check."""
    return edited(ADMIT, _EDITS, "hb_admit")


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="hirebuddha", description=DESCRIPTION)

    async def run() -> None:
        from runtime.db import OWNER_DB

        await OWNER_DB.run_ddl(admit_sql(), in_pool=False)

    manager.add_raw(run)
    return manager
