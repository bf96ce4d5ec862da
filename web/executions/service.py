"""Admission, submission and cancellation of executions: shared by the chat socket and REST.

Admission runs in the same tenant-scoped transaction that writes the user message and the
execution row, under a per-tenant advisory lock, so two concurrent sends can never both
take the last free slot of `tenants.max_concurrency`.

Double-texting (a `message` while the session's previous execution is pending or running),
per agent `double_texting`:
- `reject`: the send is refused with error code `session_busy`;
- `enqueue` (default): it is accepted and answered after the previous ones, in order (the
  actor waits for the session's earlier executions before it starts);
- `interrupt`: the earlier executions are cancelled, then it starts.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from runtime import db
from web.auth.identity import Principal


class Rejected(Exception):
    """A send or cancel that is refused: a machine code, a message and the HTTP status."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


async def admit_credit(call: Any, estimate: Any) -> None:
    """Pre-flight budget check: hold the call's upper bound or refuse with 402.

    Runs inside the admission transaction, under the tenant lock, after the concurrency
    check: the hold (a budget reservation keyed by the execution id) commits or rolls back
    with the execution row. `estimate` (`ledger.budget.estimate`) was read before the lock.
    Refusal codes: insufficient_credit, tenant_cap_reached, user_cap_reached (ledger.budget
    documents the rules).
    """
    # Imported here so this module's imports stay as they are (shared with the chat socket).
    from ledger import budget

    try:
        await budget.hold(call, estimate)
    except budget.BudgetExceeded as exc:
        raise Rejected(exc.code, exc.message, 402) from exc


async def estimate_credit(
    me: Principal,
    agent_id: uuid.UUID,
    execution_id: uuid.UUID,
    content: str,
    session_id: uuid.UUID | None,
) -> tuple[Any, Any]:
    """(the budget call, its estimate): read before the tenant lock (see `submit`)."""
    from ledger import budget

    call = budget.Call(me.tenant_id, me.id, agent_id, execution_id, content, session_id)
    return call, await budget.estimate(call)


@dataclass
class Submitted:
    """An accepted send."""

    execution_id: uuid.UUID
    message_id: uuid.UUID | None
    duplicate: bool = False
    """The same `client_id` was sent before: nothing new was written or queued."""
    interrupted: list[uuid.UUID] = field(default_factory=list)
    """Executions to cancel first (`interrupt` policy)."""
    tier: str = "free"
    """The tenant's tier: which executions lane the request goes to."""
    queued: bool = False
    """Admitted but over the tenant's concurrency limit: written `queued`, not published;
    an actor publishes it when one of the tenant's executions ends (`web.jobs` "Fairness")."""
    status: str = "pending"
    """The execution's status (of the earlier one, for a duplicate)."""


async def _lock_tenant(tenant_id: uuid.UUID) -> None:
    # Transaction-scoped: released at commit/rollback, never leaks across pooled connections.
    await db.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", str(tenant_id))


# Everything admission decides on, read in ONE statement under the tenant lock: the tenant,
# its executions in flight and waiting, the session's active executions, and the earlier
# execution of a retried `client_id` or `correlation_id`. One round trip instead of five
# while every other send of the tenant waits for the lock.
_STATE = """
SELECT t.status, t.max_concurrency, t.tier, c.n, c.queued, s.active AS session_active,
       d.id AS dup_message_id, d.execution_id AS dup_execution_id,
       k.id AS corr_execution_id, k.status AS corr_status
FROM (SELECT $1::uuid AS tenant_id) me
LEFT JOIN tenants t ON t.id = me.tenant_id
CROSS JOIN LATERAL (
  SELECT count(*) FILTER (WHERE status IN ('pending', 'running')) AS n,
         count(*) FILTER (WHERE status = 'queued') AS queued
  FROM executions WHERE tenant_id = me.tenant_id AND status IN ('pending', 'running', 'queued')) c
CROSS JOIN LATERAL (
  SELECT array_agg(id ORDER BY created_at) AS active FROM executions
  WHERE session_id = $2::uuid AND tenant_id = me.tenant_id AND status IN ('pending', 'running')) s
LEFT JOIN LATERAL (
  SELECT id, execution_id FROM messages
  WHERE session_id = $2::uuid AND tenant_id = me.tenant_id AND client_id = $3::text LIMIT 1) d ON true
LEFT JOIN LATERAL (
  SELECT id, status FROM executions
  WHERE tenant_id = me.tenant_id AND correlation_id = $4::text LIMIT 1) k ON true
"""


def _check_tenant(state: Any, exclude: int, wait: bool = False) -> tuple[str, bool]:
    """(tier, full): refuse a suspended tenant; at the concurrency limit refuse, or with
    `wait` report `full` so the caller queues the execution behind the tenant's others.
    `exclude`: executions of the count about to be interrupted."""
    if state["status"] != "active":
        raise Rejected("tenant_inactive", "This workspace is suspended.", 403)
    active = state["n"] - exclude
    # A tenant's waiting jobs go first: a new one queues behind them (FIFO per tenant).
    full = active >= state["max_concurrency"] or state["queued"] > 0
    if wait:
        return state["tier"], full
    if active >= state["max_concurrency"]:
        raise Rejected(
            "rate_limited",
            f"Too many executions at once (limit {state['max_concurrency']}); retry shortly.",
            429,
        )
    return state["tier"], False


def _session_policy(active: list[uuid.UUID], policy: str) -> list[uuid.UUID]:
    """The session's pending/running executions (oldest first) to interrupt, or session_busy."""
    if active and policy == "reject":
        raise Rejected("session_busy", "The previous message is still being answered.", 409)
    return list(active) if policy == "interrupt" else []


def _earlier(state: Any) -> Submitted | None:
    """The execution of the same `client_id` (chat) or `correlation_id` (jobs), if any."""
    if state["dup_execution_id"] is not None:
        return Submitted(state["dup_execution_id"], state["dup_message_id"], duplicate=True)
    if state["corr_execution_id"] is not None:
        return Submitted(state["corr_execution_id"], None, duplicate=True, status=state["corr_status"])
    return None


# The execution row and the user message of a chat in one statement (one round trip under
# the lock). clock_timestamp(), not now(): under the lock it orders executions as admitted,
# which is the order `enqueue` answers them in.
_INSERT_EXECUTION = (
    "INSERT INTO executions (id, tenant_id, agent_id, session_id, user_id, source, "
    "status, input_data, attempt, created_at, updated_at, correlation_id, reply_to, "
    "webhook_url) VALUES ($1, $2, $3, $4, $5, $6, $8, $7::jsonb, 0, clock_timestamp(), "
    "clock_timestamp(), $9, $10, $11) RETURNING id"
)
_INSERT_WITH_MESSAGE = (
    f"WITH e AS ({_INSERT_EXECUTION}) "  # noqa: S608 (constant SQL)
    "INSERT INTO messages (id, tenant_id, session_id, execution_id, role, content, client_id, "
    "created_at) SELECT $12, $2, $4, e.id, 'user', $13, $14, clock_timestamp() FROM e"
)


async def submit(
    me: Principal,
    agent_id: uuid.UUID,
    content: str,
    *,
    source: str,
    session_id: uuid.UUID | None = None,
    client_id: str | None = None,
    correlation_id: str | None = None,
    reply_to: str | None = None,
    webhook_url: str | None = None,
    wait_for_slot: bool = False,
    execution_id: uuid.UUID | None = None,
) -> Submitted:
    """Admit and write one execution (and the user message of a chat); the caller publishes.

    `correlation_id` makes a job idempotent per tenant (the earlier execution is returned
    as a duplicate). `wait_for_slot` (queue jobs): over the concurrency limit the execution
    is written `queued` instead of refused.

    The tenant lock serializes every send of the tenant, so what needs no lock (the agent,
    the budget estimate) is read before it, and under it run only: the lock, one read
    (`_STATE`), the budget hold (only when a limit applies), one insert and the commit.
    """
    execution_id = execution_id or uuid.uuid4()  # given: the caller listens before it runs
    async with db.scope(me.tenant_id):
        agent = await db.fetchrow(
            "SELECT a.double_texting, a.llm_config->>'model' AS model, m.is_active AS model_active "
            "FROM agents a LEFT JOIN ai_models m ON m.model_key = a.llm_config->>'model' "
            "WHERE a.id = $1 AND a.tenant_id = $2 AND a.is_active",
            agent_id,
            me.tenant_id,
        )
        call, estimate = (None, None)
        if agent is not None:
            call, estimate = await estimate_credit(me, agent_id, execution_id, content, session_id)
        await _lock_tenant(me.tenant_id)
        state = await db.fetchrow(
            _STATE,
            me.tenant_id,
            session_id,
            client_id if session_id is not None else None,
            correlation_id,
        )
        assert state is not None
        if (earlier := _earlier(state)) is not None:
            return earlier
        if agent is None:
            raise Rejected("not_found", "Agent not found or inactive.", 404)
        if agent["model_active"] is False:  # the catalog's switch (web.models); running ones finish
            raise Rejected("model_inactive", f"The agent's model {agent['model']!r} is deactivated.", 422)
        policy = agent["double_texting"] or "enqueue"
        interrupted = _session_policy(state["session_active"] or [], policy) if session_id else []
        tier, full = _check_tenant(state, len(interrupted), wait_for_slot)
        status = "queued" if full else "pending"
        await admit_credit(call, estimate)
        key = "content" if session_id else "input"
        values = [
            execution_id,
            me.tenant_id,
            agent_id,
            session_id,
            me.id,
            source,
            json.dumps({key: content}),
            status,
            correlation_id,
            reply_to,
            webhook_url,
        ]
        message_id = None
        if session_id is None:
            await db.execute(_INSERT_EXECUTION, *values)
        else:
            message_id = uuid.uuid4()
            await db.execute(_INSERT_WITH_MESSAGE, *values, message_id, content, client_id)
    return Submitted(execution_id, message_id, interrupted=interrupted, tier=tier, queued=full, status=status)


async def mark_unqueued(tenant_id: uuid.UUID, execution_id: uuid.UUID) -> None:
    """Fail an execution whose request could not be queued (broker down)."""
    async with db.scope(tenant_id):
        await db.execute(
            "UPDATE executions SET status = 'failed', completed_at = now(), updated_at = now(), "
            "error_message = 'Could not be queued; please retry.' "
            "WHERE id = $1 AND tenant_id = $2 AND status = 'pending'",
            execution_id,
            tenant_id,
        )


def _viewer(me: Principal) -> uuid.UUID | None:
    """Whose executions the caller sees: None (all of the tenant) for a tenant admin.

    Used as `($2::uuid IS NULL OR user_id = $2)`: a user sees and cancels only its own.
    """
    return None if me.role == "tenant_admin" else me.id


VISIBLE = "($2::uuid IS NULL OR user_id = $2::uuid)"


EXECUTION_COLUMNS = (
    "id, status, result_data, error_message, usage, started_at, completed_at, "
    "session_id, agent_id, source, attempt, created_at"
)


def _row(record: Any) -> dict[str, Any]:
    out = dict(record)
    for key in ("result_data", "usage"):
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out


async def get(me: Principal, execution_id: uuid.UUID) -> dict[str, Any] | None:
    """One execution the caller may see, or None."""
    async with db.scope(me.tenant_id):
        row = await db.fetchrow(
            f"SELECT {EXECUTION_COLUMNS} FROM executions "  # noqa: S608 (constant SQL)
            f"WHERE id = $1 AND tenant_id = $3 AND {VISIBLE}",
            execution_id,
            _viewer(me),
            me.tenant_id,
        )
        if row is None:
            return None
        hooks = await db.fetch(
            "SELECT attempt, url, status_code, error, created_at FROM webhook_deliveries "
            "WHERE execution_id = $1 AND tenant_id = $2 ORDER BY attempt",
            execution_id,
            me.tenant_id,
        )
    return {**_row(row), "webhooks": [dict(h) for h in hooks]}


async def listing(me: Principal, limit: int = 100) -> list[dict[str, Any]]:
    """The caller's executions, newest first."""
    async with db.scope(me.tenant_id):
        rows = await db.fetch(
            f"SELECT {EXECUTION_COLUMNS} FROM executions "  # noqa: S608 (constant SQL)
            f"WHERE tenant_id = $1 AND {VISIBLE} ORDER BY created_at DESC LIMIT $3",
            me.tenant_id,
            _viewer(me),
            limit,
        )
    return [_row(r) for r in rows]


async def cancel_pending(me: Principal, execution_id: uuid.UUID) -> tuple[dict[str, Any] | None, bool]:
    """Cancel the execution if no actor took it yet: (its row as it is now, cancelled by us).

    A running execution is left to its actor (the caller sends it `CancelExecution`).
    """
    async with db.scope(me.tenant_id):
        done = await db.execute(
            "UPDATE executions SET status = 'cancelled', completed_at = now(), updated_at = now() "
            "WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2::uuid) AND tenant_id = $3 "
            "AND status IN ('pending', 'queued')",
            execution_id,
            _viewer(me),
            me.tenant_id,
        )
    return await get(me, execution_id), done.endswith(" 1")
