"""The claim, the end and the double-texting check read by key, whatever the statistics say.

Issue #11: on a database whose `executions` and `messages` were never analyzed (a new
deployment's first minutes, every bench run: autovacuum had not analyzed them 90 s into
one), PostgreSQL believes a tenant has one execution. `hb_begin_many` then scanned the
tenant's index (`executions_tenant_status`) for its rows instead of looking each id up by
primary key, joined its UPDATE against that scan, and checked each session's turn and read
each history the same way: every claim read every execution of its tenant, so a burst of N
claims read N x N rows. At 1,000 streams the claims took 2.3-2.8 s of PostgreSQL time and
the ends (`hb_finish_many`, the same lookup by id) 1.5-2.0 s (pg_stat_statements, two runs).

Each tenant check of these lookups by id is now `tenant_id IS NOT DISTINCT FROM p_tenant`,
and the status check of the two UPDATEs `(status ...) IS TRUE`: the same tests (neither
column is ever NULL), which PostgreSQL never uses as an index condition, so the only keyed
access left is the one the query means, the primary key. (Without it the UPDATEs scanned
`executions_status` for every active execution, believing there were two.) The tenant check
stays explicit beside row-level security (README "Security model"). The session's turn and
the double-texting check get an index on (session_id, status) instead of a bitmap AND of the
session and status indexes (the status index holds every dead version of a hot row).
`tests/test_plans_without_statistics.py` counts the rows of `executions` a claim reads for a
tenant with 1,501 of them: 6,004 before, at most 10 allowed now (and 5 for an end).

Both functions also run with `enable_seqscan = off`: PL/pgSQL keeps the plan it made for
the first calls, and on a table that starts empty and fills during a burst that plan read
the whole table for each id. They only ever read rows by key.

On a kept bench database (1,403 executions of one tenant, never analyzed; 30 claims of 10
each, in a rolled-back transaction, as the application's role): 7.8-7.9 -> 2.2-2.4 ms per
claim of 10, 3.7 -> 2.2 ms for a lone claim.

The functions are the earlier migrations' text with these edits (`edited`), signatures
unchanged, so they are replaced in place.
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import edited, raw_migration
from piccolo_migrations.hirebuddha_2026_12_02t07_00_00_000000_claim_tool_facts import BEGIN_MANY
from piccolo_migrations.hirebuddha_2026_12_02t09_00_00_000000_finish_many import FINISH_MANY
from piccolo_migrations.hirebuddha_2026_12_02t10_00_00_000000_admit_count_once import admit_sql

ID = "2026-12-03T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Claims, ends and the double-texting check read by key without statistics"

SESSION_STATUS_INDEX = "CREATE INDEX executions_session_status ON executions (session_id, status)"

KEYED_FUNCTIONS = (
    "hb_begin_many(uuid, uuid[], boolean[], int)",
    "hb_finish_many(uuid, uuid[], int[], text[], text[], text[], text[], uuid[], text[])",
)
"""The statements of these read only by key: no sequential scan, even of a table believed small
(module doc)."""

_KEYED = "IS NOT DISTINCT FROM p_tenant"  # never an index condition (module doc)

_BEGIN_EDITS = [
    ("CREATE FUNCTION hb_begin_many(", "CREATE OR REPLACE FUNCTION hb_begin_many("),
    (
        "JOIN asked ON e.id = asked.id\n  WHERE e.tenant_id = p_tenant",
        f"JOIN asked ON e.id = asked.id\n  WHERE e.tenant_id {_KEYED}",
    ),
    (
        "WHERE p.tenant_id = p_tenant AND p.session_id = me.session_id",
        f"WHERE p.tenant_id {_KEYED} AND p.session_id = me.session_id",
    ),
    (
        "WHERE e.id = turn.id AND e.tenant_id = p_tenant AND e.status IN ('pending', 'running')",
        f"WHERE e.id = turn.id AND e.tenant_id {_KEYED} AND (e.status IN ('pending', 'running')) IS TRUE",
    ),
    ("a.id = c.agent_id AND a.tenant_id = p_tenant", f"a.id = c.agent_id AND a.tenant_id {_KEYED}"),
    ("e.id = m.execution_id AND e.tenant_id = p_tenant", f"e.id = m.execution_id AND e.tenant_id {_KEYED}"),
    (
        "WHERE m.tenant_id = p_tenant AND m.session_id = c.session_id",
        f"WHERE m.tenant_id {_KEYED} AND m.session_id = c.session_id",
    ),
]

_FINISH_EDITS = [
    ("CREATE FUNCTION hb_finish_many(", "CREATE OR REPLACE FUNCTION hb_finish_many("),
    (
        "WHERE e.id = b.id AND e.tenant_id = p_tenant AND e.status = 'running'",
        f"WHERE e.id = b.id AND e.tenant_id {_KEYED} AND (e.status = 'running') IS TRUE",
    ),
    (
        "WHERE r.execution_id = d.id AND r.tenant_id = p_tenant",
        f"WHERE r.execution_id = d.id AND r.tenant_id {_KEYED}",
    ),
]

_ADMIT_EDITS = [
    ("CREATE FUNCTION hb_admit(", "CREATE OR REPLACE FUNCTION hb_admit("),
    (
        "WHERE e.session_id = p_session AND e.tenant_id = p_tenant",
        f"WHERE e.session_id = p_session AND e.tenant_id {_KEYED}",
    ),
]


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [
        SESSION_STATUS_INDEX,
        edited(BEGIN_MANY, _BEGIN_EDITS, "hb_begin_many"),
        edited(FINISH_MANY, _FINISH_EDITS, "hb_finish_many"),
        edited(admit_sql(), _ADMIT_EDITS, "hb_admit"),
        *(f"ALTER FUNCTION {f} SET enable_seqscan = off" for f in KEYED_FUNCTIONS),
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
