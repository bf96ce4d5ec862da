"""Every SQL statement of budgets: limits, month-to-date spend, reservations and their sweep.

Callers open the transaction (`runtime.db.scope`); admission runs in its tenant's scope, the
ledger and the sweeper in the system scope. Spend is tenant_cost; "the month" is the calendar
month in UTC, passed in as its start.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from runtime import db
from runtime.executions import ACTIVE, ENDED


@dataclass(frozen=True)
class Limits:
    """What bounds a tenant's (and a user's) spend; None/False where nothing does."""

    tenant_cap: Decimal | None
    user_cap: Decimal | None
    prepaid: bool
    """The tenant has a subscription and no payment method: it spends its credit only."""

    @property
    def any(self) -> bool:
        """Whether admission has anything to check."""
        return self.prepaid or self.tenant_cap is not None or self.user_cap is not None


@dataclass(frozen=True)
class Spend:
    """Month-to-date spend and open holds, read in ONE statement (one snapshot)."""

    tenant_spent: Decimal
    tenant_held: Decimal
    user_spent: Decimal
    user_held: Decimal
    credit_balance: Decimal | None


_LIMITS = (
    "SELECT t.monthly_cap AS tenant_cap, u.monthly_cap AS user_cap, "
    "  EXISTS (SELECT 1 FROM subscriptions s WHERE s.tenant_id = t.id) "
    "  AND NOT EXISTS (SELECT 1 FROM payment_methods m WHERE m.tenant_id = t.id) AS prepaid "
    "FROM tenants t LEFT JOIN users u ON u.id = $2 AND u.tenant_id = t.id "
    "WHERE t.id = $1"
)
_LIMITS_LOCKED = _LIMITS + " FOR NO KEY UPDATE OF t"


async def lock_limits(tenant_id: uuid.UUID, user_id: uuid.UUID | None, *, lock: bool = True) -> Limits | None:
    """Lock the tenant row until commit and read its limits; None if the tenant is gone.

    FOR NO KEY UPDATE serializes admissions of one tenant (so "sum, compare, insert" is
    atomic) without blocking the FOR KEY SHARE locks that inserts referencing the tenant take.
    `lock=False` only reads (reports).
    """
    row = await db.fetchrow(_LIMITS_LOCKED if lock else _LIMITS, tenant_id, user_id)
    if row is None:
        return None
    return Limits(row["tenant_cap"], row["user_cap"], row["prepaid"])


# One statement, one snapshot: the ledger moves money from "held" to "spent" (and debits the
# credit) in one transaction, so reading them in separate statements could miss it in both.
_SPEND = """
SELECT
  (SELECT COALESCE(sum(tenant_cost), 0) FROM ledger_entries
    WHERE tenant_id = $1 AND created_at >= $3) AS tenant_spent,
  (SELECT COALESCE(sum(amount - spent), 0) FROM budget_reservations
    WHERE tenant_id = $1 AND amount > spent) AS tenant_held,
  CASE WHEN $4 THEN
    (SELECT COALESCE(sum(l.tenant_cost), 0) FROM ledger_entries l
       JOIN executions e ON e.id = l.execution_id AND e.tenant_id = $1
      WHERE l.tenant_id = $1 AND l.created_at >= $3 AND e.user_id = $2)
  ELSE 0 END AS user_spent,
  CASE WHEN $4 THEN
    (SELECT COALESCE(sum(amount - spent), 0) FROM budget_reservations
      WHERE tenant_id = $1 AND user_id = $2 AND amount > spent)
  ELSE 0 END AS user_held,
  (SELECT credit_balance FROM subscriptions WHERE tenant_id = $1
    ORDER BY (status = 'active') DESC, created_at DESC LIMIT 1) AS credit_balance
"""


async def spend(
    tenant_id: uuid.UUID, user_id: uuid.UUID | None, month_start: datetime, *, per_user: bool
) -> Spend:
    """Month-to-date spend (ledger) and open holds of the tenant, and of the user if asked.

    Served by ledger_entries_tenant_created (index-only) and budget_reservations_open.
    """
    row = await db.fetchrow(_SPEND, tenant_id, user_id, month_start, per_user and user_id is not None)
    assert row is not None
    return Spend(**dict(row))


async def agent_prompt(agent_id: uuid.UUID, tenant_id: uuid.UUID) -> dict[str, Any] | None:
    """The agent's role text, llm_config and output_schema (dicts), or None."""
    row = await db.fetchrow(
        "SELECT role, llm_config, output_schema FROM agents WHERE id = $1 AND tenant_id = $2",
        agent_id,
        tenant_id,
    )
    if row is None:
        return None
    return {
        "role": row["role"] or "",
        "llm_config": _json(row["llm_config"]) or {},
        "output_schema": _json(row["output_schema"]),
    }


def _json(value: Any) -> Any:
    """asyncpg hands jsonb back as text unless a codec is set; accept both."""
    return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class History:
    """What a session's history adds to the next prompt (`history_size`)."""

    bytes: int = 0
    """UTF-8 bytes of the messages written so far."""
    messages: int = 0
    replies_pending: int = 0
    """Earlier executions still pending or running: their replies are not written yet."""


async def history_size(session_id: uuid.UUID, tenant_id: uuid.UUID, limit: int) -> History:
    """The session's last `limit` messages (the prompt's history), and the replies to come.

    Served by messages_session_created and the executions' session_id index.
    """
    row = await db.fetchrow(
        "SELECT COALESCE(sum(octet_length(content)), 0) AS bytes, count(*) AS n, "
        "(SELECT count(*) FROM executions WHERE session_id = $1 AND tenant_id = $2 "
        " AND status = ANY($4::text[])) AS pending FROM ("
        "  SELECT content FROM messages WHERE session_id = $1 AND tenant_id = $2 "
        "  ORDER BY created_at DESC LIMIT $3) h",
        session_id,
        tenant_id,
        limit,
        list(ACTIVE),
    )
    assert row is not None
    return History(int(row["bytes"]), int(row["n"]), int(row["pending"]))


async def insert_reservation(
    *,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID | None,
    execution_id: uuid.UUID,
    agent_id: uuid.UUID | None,
    model: str,
    amount: Decimal,
) -> None:
    """Hold `amount` for the execution (one reservation per execution)."""
    await db.execute(
        "INSERT INTO budget_reservations (id, tenant_id, user_id, execution_id, agent_id, model, "
        "amount, spent, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, now(), now())",
        uuid.uuid4(),
        tenant_id,
        user_id,
        execution_id,
        agent_id,
        model,
        amount,
    )


async def releasable(execution_id: uuid.UUID) -> dict[str, Any] | None:
    """The unreleased reservation of a terminal (or missing) execution, with its usage.

    Locks the reservation row so a concurrent release (actor and sweeper) runs once.
    """
    row = await db.fetchrow(
        "SELECT r.tenant_id, r.model, e.status, e.usage, t.partner_id "
        "FROM budget_reservations r JOIN tenants t ON t.id = r.tenant_id "
        "LEFT JOIN executions e ON e.id = r.execution_id AND e.tenant_id = r.tenant_id "
        "WHERE r.execution_id = $1 AND r.released_at IS NULL FOR UPDATE OF r",
        execution_id,
    )
    if row is None or (row["status"] is not None and row["status"] not in ENDED):
        return None
    return dict(row)


async def mark_released(execution_id: uuid.UUID, amount: Decimal) -> None:
    """Shrink the hold's ceiling to the call's real price: the ledger's `spent` catches up."""
    await db.execute(
        "UPDATE budget_reservations SET amount = $2, released_at = now(), updated_at = now() "
        "WHERE execution_id = $1 AND released_at IS NULL",
        execution_id,
        amount,
    )


async def stale(older_than_s: float, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant_id, execution_id) of unreleased reservations older than that whose execution
    ended or does not exist. Served by budget_reservations_unreleased."""
    rows = await db.fetch(
        "SELECT r.tenant_id, r.execution_id FROM budget_reservations r "
        "LEFT JOIN executions e ON e.id = r.execution_id "
        "WHERE r.released_at IS NULL AND r.created_at < now() - make_interval(secs => $1) "
        "AND (e.id IS NULL OR e.status = ANY($2::text[])) ORDER BY r.created_at LIMIT $3",
        older_than_s,
        list(ENDED),
        limit,
    )
    return [(r["tenant_id"], r["execution_id"]) for r in rows]


async def drop_residuals(older_than_s: float) -> int:
    """Released long ago yet still holding (usage never recorded, rates changed): let go."""
    done = await db.execute(
        "UPDATE budget_reservations SET amount = spent, updated_at = now() "
        "WHERE amount > spent AND released_at < now() - make_interval(secs => $1)",
        older_than_s,
    )
    return int(done.split()[-1])


async def set_tenant_cap(tenant_id: uuid.UUID, cap: Decimal | None) -> None:
    """Set or clear the tenant's monthly cap."""
    await db.execute("UPDATE tenants SET monthly_cap = $2, updated_at = now() WHERE id = $1", tenant_id, cap)


async def set_user_cap(tenant_id: uuid.UUID, user_id: uuid.UUID, cap: Decimal | None) -> bool:
    """Set or clear a user's monthly cap; False when the user is not the tenant's."""
    done = await db.execute(
        "UPDATE users SET monthly_cap = $3, updated_at = now() WHERE id = $2 AND tenant_id = $1",
        tenant_id,
        user_id,
        cap,
    )
    return done.endswith(" 1")


async def caps(tenant_id: uuid.UUID) -> tuple[Decimal | None, list[dict[str, Any]]]:
    """The tenant's cap and every user cap that is set."""
    tenant = await db.fetchrow("SELECT monthly_cap FROM tenants WHERE id = $1", tenant_id)
    users = await db.fetch(
        "SELECT id AS user_id, monthly_cap FROM users WHERE tenant_id = $1 "
        "AND monthly_cap IS NOT NULL ORDER BY email",
        tenant_id,
    )
    return (None if tenant is None else tenant["monthly_cap"]), [dict(u) for u in users]


async def add_credit(tenant_id: uuid.UUID, amount: Decimal) -> Decimal:
    """Add prepaid credit to the tenant's current subscription (a `prepaid` one if none)."""
    row = await db.fetchrow(
        "UPDATE subscriptions SET credit_balance = credit_balance + $2, updated_at = now() "
        "WHERE id = (SELECT id FROM subscriptions WHERE tenant_id = $1 "
        "            ORDER BY (status = 'active') DESC, created_at DESC LIMIT 1) "
        "RETURNING credit_balance",
        tenant_id,
        amount,
    )
    if row is None:
        row = await db.fetchrow(
            "INSERT INTO subscriptions (id, tenant_id, plan_name, status, billing_cycle, "
            "credit_balance, created_at, updated_at) "
            "VALUES ($1, $2, 'prepaid', 'active', 'monthly', $3, now(), now()) RETURNING credit_balance",
            uuid.uuid4(),
            tenant_id,
            amount,
        )
    assert row is not None
    return row["credit_balance"]
