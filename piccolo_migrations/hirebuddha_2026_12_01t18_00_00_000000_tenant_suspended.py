"""Admission tells a suspended workspace apart: outcome `tenant_suspended` (docs/billing.md "Dunning").

`hb_admit` (lifecycle + model check) and `hb_admit_workflow` (workflows) answered
`tenant_inactive` for any tenant that was not `active`. A suspended tenant (dunning on day 14,
or a partner or app admin) now gets `tenant_suspended`, which the client shows with how to
restore it; `tenant_inactive` stays for a tenant that is missing or in any other state. The
check is the one place every execution path passes (REST, chat, OpenAI-compatible API, queue
jobs, widgets, channels, workflows). Both functions are their earlier text with one edit each,
so each stays one definition rather than a second copy that drifts.
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration
from piccolo_migrations.hirebuddha_2026_11_30t23_10_00_000000_admit_model_check import admit_sql
from piccolo_migrations.hirebuddha_2026_12_01t11_00_00_000000_workflows import ADMIT_WORKFLOW

ID = "2026-12-01T18:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Admission answers tenant_suspended for a suspended tenant"

_ADMIT_CHECK = "  IF NOT v_has_tenant OR v_slots.tenant_status <> 'active' THEN\n"
_ADMIT_EDIT = (
    "  IF v_has_tenant AND v_slots.tenant_status = 'suspended' THEN\n"
    "    RETURN QUERY SELECT 'tenant_suspended', NULL::uuid, NULL::uuid, NULL::text, NULL::text,\n"
    "                        NULL::uuid[], NULL::int;\n"
    "    RETURN;\n"
    "  END IF;\n" + _ADMIT_CHECK
)
_WORKFLOW_EDIT = (
    "  IF v_has_tenant AND v_slots.tenant_status = 'suspended' THEN\n"
    "    RETURN QUERY SELECT 'tenant_suspended', NULL::uuid, NULL::text, NULL::text, NULL::int, NULL::int;\n"
    "    RETURN;\n"
    "  END IF;\n" + _ADMIT_CHECK
)


def _edit(sql: str, name: str, new: str) -> str:
    if sql.count(_ADMIT_CHECK) != 1:
        raise RuntimeError(f"{name} changed under this migration: the tenant check is not found once")
    return sql.replace(_ADMIT_CHECK, new)


def statements() -> list[str]:
    return [
        _edit(admit_sql(), "hb_admit", _ADMIT_EDIT),
        _edit(ADMIT_WORKFLOW, "hb_admit_workflow", _WORKFLOW_EDIT),
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
