"""A batch of admissions counts the tenant's active executions once, not once per item.

Issue #11: `hb_admit` counted the tenant's pending, running and queued executions for every
send (`hb_tenant_slots`, an index range over all of them), and `hb_admit_batch` runs it once
per item under the tenant's lock: the burst's admissions, serialised on that lock, paid for
every execution already running. Measured on a kept bench database (15 batches each, the
two functions alternating), with 1,000 executions active: 0.66 -> 0.46 ms of PostgreSQL time
per item in batches of 20, 0.62 -> 0.44 in batches of 64 (0.41 -> 0.35 and 0.32 -> 0.28 with
none active). A lone admission counts once either way (2.2 ms with 1,000 active, 0.8-0.9
with none): the count itself stays a range over the active executions.

- `hb_admit` gains five optional arguments, the tenant's slots as the caller counted them
  under the lock it already holds (`p_slots_status`, `p_slots_tier`, `p_slots_limit`,
  `p_slots_busy`, `p_slots_waiting`). Without them (a lone `hb_admit` inside a budget
  transaction) it counts as before.
- `hb_admit_batch` takes the lock and counts once, before its first item, then carries the
  count: an item admitted `pending` takes a slot (busy + 1), one admitted `queued` waits
  (waiting + 1); refusals and duplicates write nothing and change neither. That is the
  count each item saw before, except that executions ending while the batch runs are no
  longer seen as freed during it: an item may be queued where a fresh count would have
  started it, never started past the limit (every promotion and admission takes the same
  lock, so nothing else can add to the count meanwhile). The ending execution's actor
  promotes the tenant's queued executions after its end (`hb_promote_alone`), which waits
  for this batch's commit, so such an item waits one promotion, not a poll.

Both functions are the `admission_one_trip` migration's text with these edits, so they stay
one definition rather than a second copy that drifts.
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import edited, raw_migration
from piccolo_migrations.hirebuddha_2026_12_02t01_00_00_000000_admission_one_trip import ADMIT, ADMIT_BATCH

ID = "2026-12-02T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "A batch of admissions counts the tenant's active executions once"

OLD_ADMIT = (
    "hb_admit(uuid, uuid, uuid, uuid, text, text, uuid, uuid, text, jsonb, text, text, text, boolean, "
    "boolean, boolean)"
)

_EDITS = [
    (
        "  p_budget_free boolean DEFAULT false, p_hand_check boolean DEFAULT false)\n",
        "  p_budget_free boolean DEFAULT false, p_hand_check boolean DEFAULT false,\n"
        "  p_slots_status text DEFAULT NULL, p_slots_tier text DEFAULT NULL,\n"
        "  p_slots_limit int DEFAULT NULL, p_slots_busy int DEFAULT NULL,\n"
        "  p_slots_waiting int DEFAULT NULL)\n",
    ),
    (
        "  SELECT * INTO v_slots FROM hb_tenant_slots(p_tenant);\n  v_has_tenant := FOUND;\n",
        "  IF p_slots_busy IS NULL THEN\n"
        "    SELECT * INTO v_slots FROM hb_tenant_slots(p_tenant);\n"
        "    v_has_tenant := FOUND;\n"
        "  ELSE  -- counted by the caller, under the lock it holds (hb_admit_batch)\n"
        "    SELECT p_slots_status AS tenant_status, p_slots_tier AS tenant_tier,\n"
        "           p_slots_limit AS slot_limit, p_slots_busy AS busy, p_slots_waiting AS waiting\n"
        "      INTO v_slots;\n"
        "    v_has_tenant := true;\n"
        "  END IF;\n",
    ),
]


def admit_sql() -> str:
    """`hb_admit` taking the slots from its caller."""
    return edited(ADMIT, _EDITS, "hb_admit")


# The lock and the count before the first item; each item's outcome carries the count on.
# No tenant: the count is NULL and each item counts for itself (and is refused inactive).
_BATCH_EDITS = [
    (
        "  v_ord bigint;\n",
        "  v_ord bigint;\n  v_slots record;\n  v_busy int;\n  v_waiting int;\n  v_row record;\n",
    ),
    (
        "  FOR v_item, v_ord IN",
        "  SELECT * INTO v_slots FROM hb_tenant_slots(p_tenant);\n"
        "  v_busy := v_slots.busy;\n"
        "  v_waiting := v_slots.waiting;\n"
        "  FOR v_item, v_ord IN",
    ),
    ("    RETURN QUERY SELECT v_ord::int, a.* FROM hb_admit(\n", "    SELECT * INTO v_row FROM hb_admit(\n"),
    (
        "(v_item->>'hand_check')::boolean) a;\n",
        "(v_item->>'hand_check')::boolean,\n"
        "      v_slots.tenant_status, v_slots.tenant_tier, v_slots.slot_limit, v_busy, v_waiting);\n"
        "    IF v_row.outcome = 'admitted' THEN\n"
        "      IF v_row.out_status = 'queued' THEN\n"
        "        v_waiting := v_waiting + 1;\n"
        "      ELSE\n"
        "        v_busy := v_busy + 1;\n"
        "      END IF;\n"
        "    END IF;\n"
        "    ord := v_ord::int;\n"
        "    outcome := v_row.outcome;\n"
        "    out_execution := v_row.out_execution;\n"
        "    out_message := v_row.out_message;\n"
        "    out_status := v_row.out_status;\n"
        "    out_tier := v_row.out_tier;\n"
        "    out_interrupted := v_row.out_interrupted;\n"
        "    out_limit := v_row.out_limit;\n"
        "    out_rate_limit := v_row.out_rate_limit;\n"
        "    out_rate_used := v_row.out_rate_used;\n"
        "    out_rate_reset := v_row.out_rate_reset;\n"
        "    RETURN NEXT;\n",
    ),
]


def admit_batch_sql() -> str:
    """`hb_admit_batch` counting once and passing the count to each `hb_admit`."""
    return edited(ADMIT_BATCH, _BATCH_EDITS, "hb_admit_batch")


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [
        "DROP FUNCTION hb_admit_batch(uuid, jsonb)",
        f"DROP FUNCTION {OLD_ADMIT}",
        admit_sql(),
        admit_batch_sql(),
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
