"""Admission, submission and cancellation of executions: shared by the chat socket and REST.

Admission is one call of `hb_admit` (the tenant's advisory lock, the state read, the
double-texting policy, the hourly request unit and the inserts in one round trip). Without a
budget limit that call is its own transaction, batched with the tenant's concurrent sends
(`runtime.executions.admit_alone`); with one, it is followed by the budget hold in one
tenant-scoped transaction (`runtime.executions.admit`). Either way two concurrent sends can
never both take the last free slot of the tenant's limit or the last credit
(docs/limits.md "The admission lock"). The double-texting policies are
`runtime.executions.DoubleTexting`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

# web -> ledger.budget is a named exception of the dependency rule (docs/architecture.md):
# admission holds budget under the tenant lock, by the ledger's own rules.
from ledger import budget
from runtime import db, executions
from runtime.errors import SUSPENDED_MESSAGE, CodedError, ErrorCode
from runtime.executions import ExecutionStatus, Submission, Verdict
from runtime.handover import ANSWERING_ROLES
from web.auth.identity import Principal
from web.security import quota


class Rejected(CodedError):
    """A send or cancel that is refused: a machine code, a message and the HTTP status."""

    status: int

    def __init__(self, code: str, message: str, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(code, message, status)
        self.headers = headers
        """Extra HTTP headers of the refusal (an hourly quota's Retry-After and RateLimit-*)."""


async def admit_credit(call: budget.Call, estimate: budget.Estimate | None) -> None:
    """Pre-flight budget check: hold the call's upper bound or refuse with 402.

    Runs inside the admission transaction, under the tenant lock, after the concurrency
    check: the hold (a budget reservation keyed by the execution id) commits or rolls back
    with the execution row. `estimate` (`ledger.budget.estimate`) was read before the lock.
    Refusal codes: insufficient_credit, tenant_cap_reached, user_cap_reached (ledger.budget
    documents the rules).
    """
    try:
        await budget.hold(call, estimate)
    except budget.BudgetExceeded as exc:
        raise Rejected(exc.code, exc.message, 402) from exc


async def estimate_credit(
    me: Principal, sub: Submission, execution_id: uuid.UUID
) -> tuple[budget.Call, budget.Estimate | None]:
    """(the budget call, its estimate): read before the tenant lock (see `submit`)."""
    call = budget.Call(me.tenant_id, me.id, sub.agent_id, execution_id, sub.content, sub.session_id)
    return call, await budget.estimate(call)


@dataclass
class Submitted:
    """An accepted send."""

    execution_id: uuid.UUID
    message_id: uuid.UUID | None
    duplicate: bool = False
    """The same `client_id` was sent before: nothing new was written or queued."""
    interrupted: list[uuid.UUID] = field(default_factory=list)
    """Executions to cancel first (`interrupt` and `merge` policies)."""
    tier: str = "free"
    """The tenant's tier: which executions lane the request goes to."""
    status: ExecutionStatus = ExecutionStatus.PENDING
    """The execution's status (of the earlier one, for a duplicate)."""

    @property
    def queued(self) -> bool:
        """Admitted but over the tenant's concurrency limit: written `queued`, not published;
        an actor publishes it when one of the tenant's executions ends (`web.jobs` "Fairness")."""
        return self.status == ExecutionStatus.QUEUED and not self.duplicate


def _refusal(admission: executions.Admission) -> Rejected:
    """The client's answer to a verdict other than admitted or duplicate."""
    match admission.verdict:
        case Verdict.AGENT_NOT_FOUND:
            return Rejected("not_found", "Agent not found or inactive.", 404)
        case Verdict.SESSION_BUSY:
            return Rejected("session_busy", "The previous message is still being answered.", 409)
        case Verdict.TENANT_INACTIVE:
            return Rejected("tenant_inactive", "This workspace is not active.", 403)
        case Verdict.TENANT_SUSPENDED:
            return Rejected("tenant_suspended", SUSPENDED_MESSAGE, 403)
        case Verdict.MODEL_INACTIVE:  # the catalog's switch (web.models); running ones finish
            return Rejected("model_inactive", "The agent's model is deactivated; pick another one.", 422)
        case _:
            return Rejected(
                "rate_limited",
                f"Too many executions at once (limit {admission.slot_limit}); retry shortly.",
                429,
            )


class Held(Exception):  # noqa: N818 (an answer, not a failure)
    """A `hand_check` send on a session a person holds: nothing was written; the caller
    routes the message to that person (`web.handover`)."""


_BUDGETED: dict[uuid.UUID, float] = {}
"""Tenants admission last found under a budget limit (monotonic time): their sends go
straight to the transaction that holds the budget for BUDGETED_FOR_S."""
BUDGETED_FOR_S = 60.0


async def submit(me: Principal, sub: Submission) -> Submitted:
    """Admit and write one execution (and the user message of a chat); the caller publishes.

    `sub.correlation_id` makes a job idempotent per tenant (the earlier execution is
    returned as a duplicate). `sub.wait_for_slot` (queue jobs, chat): over the concurrency
    limit the execution is written `queued` instead of refused.

    A tenant without a budget limit (no cap, no prepaid credit) is admitted in ONE statement
    that is its own transaction (`executions.admit_alone`: the lock, the checks, the hourly
    request unit, the writes and the commit), batched with the tenant's concurrent sends.
    Otherwise, in one transaction: the budget estimate (which needs no lock) is read before
    the tenant lock; under it run only `admit` (one round trip), the budget hold and the
    commit.
    """
    execution_id = sub.execution_id or uuid.uuid4()  # given: the caller listens before it runs
    budgeted = _BUDGETED.get(me.tenant_id)
    if budgeted is not None and time.monotonic() - budgeted > BUDGETED_FOR_S:
        del _BUDGETED[me.tenant_id]
        budgeted = None
    if budgeted is None and db.APP_DB.current_transaction.get() is None:
        admission = await executions.admit_alone(me.tenant_id, me.id, sub, execution_id)
        if admission.verdict != Verdict.BUDGET_LIMITED:
            return _answer(admission, execution_id)
        _BUDGETED[me.tenant_id] = time.monotonic()
    async with db.scope(me.tenant_id):
        call, estimate = await estimate_credit(me, sub, execution_id)
        admission = await executions.admit(me.tenant_id, me.id, sub, execution_id)
        if admission.verdict == Verdict.ADMITTED:
            await admit_credit(call, estimate)  # a refusal rolls the insert back
    return _answer(admission, execution_id)


def _answer(admission: executions.Admission, execution_id: uuid.UUID) -> Submitted:
    """The send's `Submitted`, or its refusal raised."""
    if admission.verdict == Verdict.DUPLICATE:
        assert admission.execution_id is not None
        status = admission.status or ExecutionStatus.PENDING
        return Submitted(admission.execution_id, admission.message_id, duplicate=True, status=status)
    if admission.verdict == Verdict.SESSION_HELD:
        raise Held()
    if admission.verdict == Verdict.REQUEST_QUOTA_EXCEEDED:
        taken = quota.Taken(False, admission.rate_limit, admission.rate_used, admission.rate_reset or 1)
        raise Rejected(
            ErrorCode.REQUEST_QUOTA_EXCEEDED,
            quota.refusal_message("requests", taken),
            429,
            {"Retry-After": str(taken.reset_s), **taken.headers()},
        )
    if admission.verdict != Verdict.ADMITTED:
        raise _refusal(admission)
    assert admission.status is not None
    return Submitted(
        execution_id,
        admission.message_id,
        interrupted=admission.interrupted,
        tier=admission.tier,
        status=admission.status,
    )


async def mark_unqueued(tenant_id: uuid.UUID, execution_id: uuid.UUID) -> None:
    """Fail an execution whose request could not be queued (broker down)."""
    await executions.fail_unqueued(tenant_id, execution_id)


def _viewer(me: Principal) -> uuid.UUID | None:
    """Whose executions the caller sees: None (all of the tenant) for a tenant admin and a
    support person (who answers the tenant's conversations).

    Used as `($2::uuid IS NULL OR user_id = $2)`: a user sees and cancels only its own.
    """
    return None if me.role in ANSWERING_ROLES else me.id


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


async def cancel_waiting(
    me: Principal, execution_id: uuid.UUID
) -> tuple[dict[str, Any] | None, executions.Cancelled | None]:
    """Cancel the execution if no actor took it yet: (its row as it is now, what we cancelled).

    A running execution is left to its actor (the caller sends it `CancelExecution`).
    """
    cancelled = await executions.cancel_waiting(me.tenant_id, execution_id, _viewer(me))
    return await get(me, execution_id), cancelled
