"""The life of an execution, in one place: its statuses, the tenant-slot rule, every transition.

    queued -> pending -> running -> completed | failed | cancelled

- `queued`: a job admitted while its tenant was at `max_concurrency`; no request is on the
  broker yet. `promote` moves it to `pending` (and the caller publishes it) when a slot frees.
- `pending`: holds a tenant slot; its `ExecutionRequested` is on its tier's queue.
- `running`: an actor claimed it (`begin_many`); the attempt that owns it is `attempt`, and
  every write of an attempt says `AND attempt = $n AND status = 'running'`, so an attempt
  that lost the execution (sweeper, a newer attempt) can no longer change it.
- `completed` / `failed` / `cancelled`: ended; the result is sent (`announce_end`).

The slot rule (a tenant has at most `max_concurrency` executions pending or running, and
its queued jobs wait in arrival order) is the SQL function `hb_tenant_slots`, taken under
the tenant's advisory lock by admission (`hb_admit`) and promotion (`hb_promote`); the
three began in migration `hirebuddha_2026_11_30t22_30_00_000000_lifecycle` (`hb_admit`'s
latest definition, and `hb_admit_batch`: `hirebuddha_2026_12_02t01_00_00_000000_admission_one_trip`;
`hb_promote_alone`: `hirebuddha_2026_12_02t05_00_00_000000_promote_alone`).

Who calls what: web admits (`admit`), fails what it could not queue (`fail_unqueued`) and
cancels what no actor took yet (`cancel_waiting`); actors claim (`begin_many`, the claims of one
tenant a process asks for at once, `actors.store.TenantBatches`), prove they are
alive (`heartbeat`), end (`finish_many`, batched the same way) and promote (`promote`); the
sweeper fails orphans (`fail_orphans`). Each tenant query runs in `db.scope(tenant_id)`
*and* filters by tenant in SQL: row-level security is the second wall, not the only one.
"""

from __future__ import annotations

import asyncio
import json
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import msgspec
from faststream.rabbit import RabbitBroker

from runtime import db, trace
from runtime.broker import Topology
from runtime.messages import ChannelReplyRequested, ErrorInfo, JobResult, Usage, WebhookRequested
from runtime.publishing import publish_channel_reply, publish_result, publish_webhook


class ExecutionStatus(StrEnum):
    """`executions.status`."""

    QUEUED = "queued"
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


S = ExecutionStatus

ACTIVE = (S.PENDING, S.RUNNING)
"""Statuses that hold one of the tenant's slots (and make a session busy)."""
WAITING = (S.QUEUED, S.PENDING)
"""Statuses no actor has taken yet: cancelled right away, without an actor."""
ENDED = (S.COMPLETED, S.FAILED, S.CANCELLED)
"""Final statuses: the result is stored and sent."""


class DoubleTexting(StrEnum):
    """`agents.double_texting`: what a message does while the session's previous one runs.

    - `reject`: refused with error code `session_busy`;
    - `enqueue` (default): accepted, answered after the previous ones, in order;
    - `interrupt`: the previous executions are cancelled, then this one starts;
    - `merge`: the previous executions are cancelled and this one answers their messages
      and its own as ONE user turn; their partial replies stay in the session (and are
      billed) but are left out of the history the model sees (`merged_into`).
    """

    REJECT = "reject"
    ENQUEUE = "enqueue"
    INTERRUPT = "interrupt"
    MERGE = "merge"


def _json(value: Any) -> Any:
    """asyncpg hands jsonb back as text unless a codec is set; accept both."""
    return json.loads(value) if isinstance(value, str) else value


# --- admission (web) -------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """One send, as every entry point (chat socket, REST, AMQP jobs) hands it to admission."""

    agent_id: uuid.UUID
    content: str
    source: str
    """chat | rest | queue"""
    session_id: uuid.UUID | None = None
    client_id: str | None = None
    """Makes a chat send idempotent per session."""
    correlation_id: str | None = None
    """Makes a job idempotent per tenant."""
    reply_to: str | None = None
    webhook_url: str | None = None
    wait_for_slot: bool = False
    """Over the concurrency limit, write `queued` instead of refusing (queue jobs)."""
    execution_id: uuid.UUID | None = None
    """The new execution's id when the caller must know it before admission (the
    OpenAI-compatible API binds its stream listener first); a fresh one otherwise."""
    hand_check: bool = False
    """A chat message that a person holding the session answers instead (web.handover):
    admission answers SESSION_HELD and writes nothing when a person holds it."""


CHANNEL_SOURCES = ("telegram", "whatsapp")
"""`Submission.source` of a turn that came in through a messaging channel: its reply goes
back through that channel's API when it ends (`announce_end`, actors.channels)."""

CONVERSATION_SOURCE = "openai"
"""`Submission.source` of an execution started through the OpenAI-compatible API: its
input is the request's messages as JSON (`[{"role", "content"}, ...]`, oldest first)."""
COPILOT_SOURCE = "copilot"
"""`Submission.source` of a co-pilot draft (docs/human-in-the-loop.md): its input is the held
session's conversation as JSON, like CONVERSATION_SOURCE; it has no session, so its stream
goes to `execution.<id>`, which only the person's socket listens to."""
CONVERSATIONAL_SOURCES = (CONVERSATION_SOURCE, COPILOT_SOURCE)
"""Sources whose input is a JSON conversation rather than one user message."""


class Verdict(StrEnum):
    """What `hb_admit` decided."""

    ADMITTED = "admitted"
    DUPLICATE = "duplicate"
    AGENT_NOT_FOUND = "agent_not_found"
    SESSION_BUSY = "session_busy"
    TENANT_INACTIVE = "tenant_inactive"
    TENANT_SUSPENDED = "tenant_suspended"
    RATE_LIMITED = "rate_limited"
    MODEL_INACTIVE = "model_inactive"
    REQUEST_QUOTA_EXCEEDED = "request_quota_exceeded"
    """The tier's requests per hour are used up (`rate_*` say the window)."""
    BUDGET_LIMITED = "budget_limited"
    """`admit_alone` only: a budget limit applies, admit in a transaction that holds it."""
    SESSION_HELD = "session_held"
    """`Submission.hand_check` and a person holds the session."""


@dataclass(frozen=True)
class Admission:
    """`admit`'s answer: for ADMITTED, the new execution; for DUPLICATE, the earlier one."""

    verdict: Verdict
    execution_id: uuid.UUID | None
    message_id: uuid.UUID | None
    status: ExecutionStatus | None
    tier: str
    interrupted: list[uuid.UUID] = field(default_factory=list)
    """The session's executions to cancel (`interrupt` and `merge`), oldest first."""
    slot_limit: int | None = None
    rate_limit: int | None = None
    """The hourly request window (None: unlimited): its limit, units used, seconds left."""
    rate_used: int | None = None
    rate_reset: int | None = None


async def admit(
    tenant_id: uuid.UUID, user_id: uuid.UUID, sub: Submission, execution_id: uuid.UUID
) -> Admission:
    """Lock the tenant's slots, decide, take the hourly request unit and write the execution
    (and its user message): ONE round trip (`hb_admit`). Run inside the caller's
    `db.scope(tenant_id)`: the advisory lock is held until its commit, so anything else
    admission holds (the budget) is decided under it too, and a refusal raised after this
    rolls the insert back.
    """
    item = _item(user_id, sub, execution_id, budget_free=False)
    row = await db.fetchrow(
        "SELECT * FROM hb_admit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14, "
        "$15, $16)",
        tenant_id,
        user_id,
        sub.agent_id,
        sub.session_id,
        item["client_id"],
        sub.correlation_id,
        execution_id,
        uuid.UUID(item["message_id"]) if item["message_id"] else None,
        sub.source,
        json.dumps(item["input"]),
        sub.content,
        sub.reply_to,
        sub.webhook_url,
        sub.wait_for_slot,
        False,
        sub.hand_check,
    )
    assert row is not None  # hb_admit answers exactly one row
    return _admission(row)


def _item(
    user_id: uuid.UUID, sub: Submission, execution_id: uuid.UUID, *, budget_free: bool
) -> dict[str, Any]:
    """`hb_admit`'s arguments by name (an item of `hb_admit_batch`)."""
    session = sub.session_id
    return {
        "user": str(user_id),
        "agent": str(sub.agent_id),
        "session": None if session is None else str(session),
        "client_id": sub.client_id if session is not None else None,
        "correlation": sub.correlation_id,
        "id": str(execution_id),
        "message_id": str(uuid.uuid4()) if session is not None else None,
        "source": sub.source,
        "input": {"content" if session else "input": sub.content},
        "content": sub.content,
        "reply_to": sub.reply_to,
        "webhook_url": sub.webhook_url,
        "wait": sub.wait_for_slot,
        "budget_free": budget_free,
        "hand_check": sub.hand_check,
    }


def _admission(row: Any) -> Admission:
    return Admission(
        verdict=Verdict(row["outcome"]),
        execution_id=row["out_execution"],
        message_id=row["out_message"],
        status=ExecutionStatus(row["out_status"]) if row["out_status"] else None,
        tier=row["out_tier"] or "free",
        interrupted=list(row["out_interrupted"] or []),
        slot_limit=row["out_limit"],
        rate_limit=row["out_rate_limit"],
        rate_used=row["out_rate_used"],
        rate_reset=row["out_rate_reset"],
    )


# Admissions of one tenant arriving while one of its batches runs wait for the next batch:
# one statement (`hb_admit_batch`, its own transaction) admits them all under one advisory
# lock and one commit, i.e. one WAL flush. A lone send is a batch of one: no added wait.
BATCH_MAX = 64
"""Admissions in one statement at most (the lock is held while it runs)."""


@dataclass
class _Waiting:
    item: dict[str, Any]
    done: asyncio.Future[Admission]


@dataclass
class _Batches:
    """One event loop's admissions waiting for their batch, and its running drains."""

    waiting: dict[uuid.UUID, list[_Waiting]] = field(default_factory=dict)
    drains: dict[uuid.UUID, asyncio.Task[None]] = field(default_factory=dict)


_BATCHES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batches] = weakref.WeakKeyDictionary()


async def admit_alone(
    tenant_id: uuid.UUID, user_id: uuid.UUID, sub: Submission, execution_id: uuid.UUID
) -> Admission:
    """`admit` as its own transaction, batched with the tenant's concurrent admissions.

    For a send that holds no budget: when a budget limit applies it answers BUDGET_LIMITED
    and writes nothing (the caller admits with `admit` in a transaction that holds it).
    Committed when it returns. Never call it inside a `db.scope`.
    """
    loop = asyncio.get_running_loop()
    batches = _BATCHES.get(loop)
    if batches is None:
        batches = _BATCHES[loop] = _Batches()
    waiting = _Waiting(_item(user_id, sub, execution_id, budget_free=True), loop.create_future())
    batches.waiting.setdefault(tenant_id, []).append(waiting)
    if tenant_id not in batches.drains:
        batches.drains[tenant_id] = loop.create_task(_drain(batches, tenant_id))
    return await asyncio.shield(waiting.done)  # a caller that gives up leaves the batch whole


async def _drain(batches: _Batches, tenant_id: uuid.UUID) -> None:
    """Admit the tenant's waiting sends, a batch at a time, until none waits."""
    batch: list[_Waiting] = []
    try:
        while queue := batches.waiting.pop(tenant_id, None):
            batch, rest = queue[:BATCH_MAX], queue[BATCH_MAX:]
            if rest:
                batches.waiting[tenant_id] = rest
            try:
                rows = await _admit_batch(tenant_id, [w.item for w in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _fail(batch[0], exc)
                    continue
                # One item failed the statement (all rolled back): each on its own, so only
                # that one gets the error.
                for one in batch:
                    try:
                        _settle(one, (await _admit_batch(tenant_id, [one.item]))[1])
                    except Exception as exc_one:
                        _fail(one, exc_one)
                continue
            for ord_, one in enumerate(batch, 1):
                _settle(one, rows[ord_])
    finally:
        # Normally nothing is left; cancelled (the loop closing) or broken: nobody waits forever.
        del batches.drains[tenant_id]
        for one in [*batch, *batches.waiting.pop(tenant_id, [])]:
            _fail(one, RuntimeError("admission was interrupted"))


async def _admit_batch(tenant_id: uuid.UUID, items: list[dict[str, Any]]) -> dict[int, Admission]:
    body = json.dumps(items)
    if trace.ENABLED:
        for item in items:
            trace.mark(item["id"], "admission_sent")
    rows = await db.fetch_alone("SELECT * FROM hb_admit_batch($1, $2::jsonb)", tenant_id, body)
    if trace.ENABLED:
        for item in items:
            trace.mark(item["id"], "admission_answered")
    return {row["ord"]: _admission(row) for row in rows}


def _settle(one: _Waiting, admission: Admission) -> None:
    if not one.done.done():
        one.done.set_result(admission)


def _fail(one: _Waiting, exc: Exception) -> None:
    if not one.done.done():
        one.done.set_exception(exc)


async def fail_unqueued(tenant_id: uuid.UUID, execution_id: uuid.UUID) -> None:
    """pending -> failed: its request could not be queued (broker down)."""
    async with db.scope(tenant_id):
        await db.execute(
            "UPDATE executions SET status = 'failed', completed_at = now(), updated_at = now(), "
            "error_message = 'Could not be queued; please retry.' "
            "WHERE id = $1 AND tenant_id = $2 AND status = 'pending'",
            execution_id,
            tenant_id,
        )


ENDED_COLUMNS = (
    "id, tenant_id, status, result_data, usage, error_message, correlation_id, reply_to, webhook_url, source"
)


_ENDED_OF_E = ", ".join(f"e.{column}" for column in ENDED_COLUMNS.split(", "))


@dataclass(frozen=True)
class Cancelled:
    """An execution `cancel_waiting` cancelled, with the status it had."""

    was: ExecutionStatus
    row: Any
    """ENDED_COLUMNS of the cancelled execution (for `announce_end`)."""


async def cancel_waiting(
    tenant_id: uuid.UUID, execution_id: uuid.UUID, user_id: uuid.UUID | None
) -> Cancelled | None:
    """queued | pending -> cancelled, if no actor took it yet; None otherwise.

    `user_id` (None: any of the tenant's) limits it to the caller's own executions. A
    running execution is left to its actor (the caller sends it `CancelExecution`).
    """
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "UPDATE executions e SET status = 'cancelled', completed_at = now(), "  # noqa: S608 (constant SQL)
            "updated_at = now() FROM (SELECT id, status FROM executions "
            "WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2::uuid) AND tenant_id = $3 "
            "AND status IN ('queued', 'pending') FOR UPDATE) was WHERE e.id = was.id "
            f"RETURNING was.status AS was, {_ENDED_OF_E}",
            execution_id,
            user_id,
            tenant_id,
        )
    return None if row is None else Cancelled(ExecutionStatus(row["was"]), row)


# --- promotion (actors) ----------------------------------------------------------------


@dataclass(frozen=True)
class Promoted:
    """A queued execution now `pending`, to be published on its tier's lane."""

    execution_id: uuid.UUID
    agent_id: uuid.UUID
    input: str
    correlation_id: str | None
    reply_to: str | None
    webhook_url: str | None
    source: str
    tier: str
    session_id: uuid.UUID | None = None
    """A chat message's session (its stream goes to `session.<id>`); None for a job."""
    message_id: uuid.UUID | None = None


async def promote(tenant_id: uuid.UUID) -> list[Promoted]:
    """queued -> pending: the tenant's oldest queued executions, as many as it has free slots
    (`hb_promote`, under the same lock as admission, so a slot is never handed out twice).

    Outside a transaction it is one statement that is its own transaction
    (`hb_promote_alone`): the lock is held only while that statement runs, never across a
    round trip to this process (issue 11: every execution's end promotes)."""
    if db.APP_DB.current_transaction.get() is None:
        rows = await db.fetch_alone("SELECT * FROM hb_promote_alone($1)", tenant_id)
    else:
        async with db.scope(tenant_id):
            rows = await db.fetch("SELECT * FROM hb_promote($1)", tenant_id)
    return [
        Promoted(
            r["o_id"],
            r["o_agent_id"],
            str((_json(r["o_input_data"]) or {}).get("input", "")),
            r["o_correlation_id"],
            r["o_reply_to"],
            r["o_webhook_url"],
            r["o_source"],
            r["o_tier"],
            r["o_session_id"],
            r["o_message_id"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class Place:
    """Where a waiting execution stands: its status and, while `queued`, its position in
    the tenant's queue (1: next to get a slot)."""

    status: ExecutionStatus
    position: int | None


async def places(tenant_id: uuid.UUID, execution_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Place]:
    """The status of each execution and, for a queued one, how many of the tenant's queued
    executions are ahead of it plus one (promotion takes them in this order, `hb_promote`)."""
    async with db.scope(tenant_id):
        rows = await db.fetch(
            "SELECT e.id, e.status, CASE WHEN e.status = 'queued' THEN (SELECT count(*) FROM executions q "
            "  WHERE q.tenant_id = $1 AND q.status = 'queued' "
            "    AND (q.created_at, q.id) <= (e.created_at, e.id)) END AS position "
            "FROM executions e WHERE e.tenant_id = $1 AND e.id = ANY($2::uuid[])",
            tenant_id,
            list(execution_ids),
        )
    return {r["id"]: Place(ExecutionStatus(r["status"]), r["position"]) for r in rows}


QUEUE_WAIT_EXCEEDED = "queue_wait_exceeded"


async def expire_queued(tenant_id: uuid.UUID, execution_id: uuid.UUID, message: str) -> Any:
    """queued -> failed (`queue_wait_exceeded`): it waited for a slot longer than allowed.
    The ended row (ENDED_COLUMNS), or None when it is no longer queued (promoted meanwhile)."""
    async with db.scope(tenant_id):
        return await db.fetchrow(
            "UPDATE executions SET status = 'failed', completed_at = now(), updated_at = now(), "  # noqa: S608 (constant SQL)
            "error_message = $3, result_data = jsonb_build_object('error_code', $4::text) "
            f"WHERE id = $1 AND tenant_id = $2 AND status = 'queued' RETURNING {ENDED_COLUMNS}",
            execution_id,
            tenant_id,
            message,
            QUEUE_WAIT_EXCEEDED,
        )


async def tenants_waiting() -> list[uuid.UUID]:
    """Tenants with queued executions (the periodic promotion's safety net)."""
    async with db.scope(system=True):  # cross-tenant by nature: it looks at every tenant
        rows = await db.fetch("SELECT DISTINCT tenant_id FROM executions WHERE status = 'queued'")
    return [r["tenant_id"] for r in rows]


# --- an attempt (actors) ---------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """An execution this actor now runs."""

    attempt: int
    agent_id: uuid.UUID | None
    session_id: uuid.UUID | None
    input: str
    progress: Any = None
    """executions.progress as an earlier attempt left it (`actors.progress`): the attempt
    that takes over bills it."""


@dataclass(frozen=True)
class AgentConfig:
    """What the actor needs of an agent."""

    role: str
    llm_config: dict[str, Any]
    output_schema: dict[str, Any] | None


@dataclass(frozen=True)
class Begun:
    """A claimed execution with what its first LLM call needs (`begin_many`)."""

    claim: Claim
    agent: AgentConfig | None
    turns: list[dict[str, str]] | None
    """The session's turns up to this execution's user message, newest first; None for an
    execution without a session (or whose agent is gone)."""
    tools: ToolFacts
    """What decides the agent's built-in tools, read with the claim."""


@dataclass(frozen=True)
class ToolFacts:
    """The facts that decide which built-in tools an agent gets (`actors.tools`), read in
    the claim's statement so the tools need no transaction of their own (issue 11)."""

    has_documents: bool
    """The agent has a document attached (`knowledge_search`)."""
    agent_tool: bool
    """The tenant turned the escalation tool on (`escalate_to_human`, session chats)."""


NOT_YET = "not-yet"
"""`begin_many`'s answer while an earlier execution of the session is still active."""

HISTORY_LIMIT = 200
"""Messages of history a claim reads (the prompt keeps what fits its token budget)."""


HUMAN_ROLE = "human"
"""`messages.role` of what a person wrote in a held session (docs/human-in-the-loop.md): the
model sees it as an assistant turn, the reply the business gave."""


def merge_turns(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """History rows (newest first) as turns: a merged execution's user message joins the
    next user message into one turn (blank line between), as if sent together; a person's
    `human` message is an assistant turn."""
    turns: list[dict[str, str]] = []
    carried: list[str] = []
    for row in reversed(rows):  # oldest first
        content = row["content"]
        if row["role"] == HUMAN_ROLE:  # a person answered for the agent: the model's side
            row = {**row, "role": "assistant"}
        if row["role"] == "user" and carried:
            content = "\n\n".join([*carried, content])
            carried = []
        if row["role"] == "user" and row.get("merged"):
            carried.append(content)
            continue
        turns.append({"role": row["role"], "content": content})
    if carried:  # the merging execution's message is not in view (cut by the limit)
        turns.append({"role": "user", "content": "\n\n".join(carried)})
    turns.reverse()
    return turns


# The session's turn, the claim, the agent, the history and the tool facts: ONE statement
# (`hb_begin_many`), all between the start message and the first token. Messages without an
# execution (written while a person held the session: the end user's and the person's
# `human` ones) are placed by their own time (docs/human-in-the-loop.md). `turn` (only when
# asked): an earlier execution of the session is still active, so nothing is claimed.
# History is ordered by execution, not by message time: with `enqueue`, a later user message
# is written while the previous reply still streams, yet belongs after that reply. A merged
# execution (`merged_into`) gives only its user message: its (partial) reply is not shown to
# the model. Its body is in migration `hirebuddha_2026_12_02t05_00_00_000000_promote_alone`,
# the tool facts were added by `hirebuddha_2026_12_02t07_00_00_000000_claim_tool_facts`. It
# takes several executions of one tenant: the claims an actors process makes at once (a
# burst) share one round trip, one commit (one WAL flush) and a pooled connection instead of
# a transaction each (issue 11). The turn is read from the statement's snapshot, so of two
# executions of one session in a batch the later one is busy while the earlier is pending.


async def begin_many(
    tenant_id: uuid.UUID, asked: Sequence[tuple[uuid.UUID, bool]]
) -> dict[uuid.UUID, Begun | str | None]:
    """pending | running -> running (the next attempt), with the agent, the history and the
    tool facts, for several executions of one tenant (distinct ids, each with its
    `wait_turn`): ONE statement that is its own transaction (`hb_begin_many`), committed
    when it returns. Never call it inside a `db.scope`.

    Each id maps to its `Begun`; NOT_YET (nothing written) while `wait_turn` and an earlier
    execution of its session is active (the `enqueue` order); None when it already ended. A
    `running` row here means an earlier attempt died (its message was redelivered): this
    one takes over.
    """
    if trace.ENABLED:
        for execution_id, _ in asked:
            trace.mark(execution_id, "claim_sent")
    rows = await db.fetch_alone(
        "SELECT * FROM hb_begin_many($1, $2, $3, $4)",
        tenant_id,
        [a[0] for a in asked],
        [a[1] for a in asked],
        HISTORY_LIMIT,
    )
    if trace.ENABLED:
        for execution_id, _ in asked:
            trace.mark(execution_id, "claim_answered")
    out: dict[uuid.UUID, Begun | str | None] = dict.fromkeys((a[0] for a in asked), None)
    for row in rows:
        out[row["o_id"]] = _begun({key[2:]: value for key, value in row.items()})
    return out


def _begun(row: Any) -> Begun | str | None:
    """`begin_many`'s answer from a row of `hb_begin_many` (without the `o_` prefix)."""
    if row["busy"]:
        return NOT_YET
    if row["attempt"] is None:
        return None
    data = _json(row["input_data"]) or {}
    text = data.get("content") or data.get("input") or ""
    claim = Claim(row["attempt"], row["agent_id"], row["session_id"], str(text), row["progress"])
    agent = None
    if row["has_agent"]:
        agent = AgentConfig(row["role"], _json(row["llm_config"]) or {}, _json(row["output_schema"]))
    turns = None
    if claim.session_id is not None and agent is not None:
        turns = merge_turns(_json(row["turns"]) or [])
    return Begun(claim, agent, turns, ToolFacts(row["has_documents"], row["agent_tool"]))


async def heartbeat(
    execution_id: uuid.UUID, tenant_id: uuid.UUID, attempt: int, progress: str | None = None
) -> bool:
    """Show the sweeper this attempt is alive, with its `progress` (JSON, `actors.progress`)
    when it has some; False when it no longer owns the execution."""
    async with db.scope(tenant_id):
        done = await db.execute(
            "UPDATE executions SET updated_at = now(), progress = COALESCE($4::jsonb, progress) "
            "WHERE id = $1 AND tenant_id = $2 AND status = 'running' AND attempt = $3",
            execution_id,
            tenant_id,
            attempt,
            progress,
        )
    return done.endswith(" 1")


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended, as stored."""

    status: ExecutionStatus | str  # one of ENDED
    text: str
    result_data: Any
    usage: dict[str, Any] | None
    error: str | None = None
    message: str | None = None
    """The session's assistant message when it differs from `text` (a workflow's output)."""


Finish = tuple[uuid.UUID, int, "uuid.UUID | None", Outcome]
"""One execution's end for `finish_many`: its id, the attempt, its session and the outcome."""


async def finish_many(tenant_id: uuid.UUID, ends: Sequence[Finish]) -> dict[uuid.UUID, bool | None]:
    """running -> completed | failed | cancelled, with the session's assistant message, for
    several executions of one tenant (distinct ids): ONE statement that is its own
    transaction (`hb_finish_many`, migration
    `hirebuddha_2026_12_02t09_00_00_000000_finish_many`). Never call it inside a `db.scope`.

    Each id maps to None when its attempt no longer owns the execution (nothing is written
    for it), else to whether an unreleased budget reservation is left for
    `ledger.budget.release`.
    """
    for *_, outcome in ends:
        assert ExecutionStatus(outcome.status) in ENDED
    rows = await db.fetch_alone(
        "SELECT * FROM hb_finish_many($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        tenant_id,
        [e[0] for e in ends],
        [e[1] for e in ends],
        [ExecutionStatus(e[3].status).value for e in ends],
        [json.dumps(e[3].result_data) for e in ends],
        [json.dumps(e[3].usage) for e in ends],
        [e[3].error for e in ends],
        [e[2] for e in ends],
        [e[3].text if e[3].message is None else e[3].message for e in ends],
    )
    out: dict[uuid.UUID, bool | None] = dict.fromkeys((e[0] for e in ends), None)
    for row in rows:
        out[row["o_id"]] = row["o_held"]
    return out


async def ended(execution_id: uuid.UUID, tenant_id: uuid.UUID) -> Any:
    """The execution's row (ENDED_COLUMNS) once it has ended, else None."""
    async with db.scope(tenant_id):
        return await db.fetchrow(
            f"SELECT {ENDED_COLUMNS} FROM executions "  # noqa: S608 (constant SQL)
            "WHERE id = $1 AND tenant_id = $2 AND status IN ('completed', 'failed', 'cancelled')",
            execution_id,
            tenant_id,
        )


# --- the sweeper (actors) --------------------------------------------------------------

ACTOR_LOST = "The worker running this execution stopped responding."
NEVER_STARTED = "No worker took this execution in time."


async def fail_orphans(stale_after_s: float, pending_after_s: float) -> Sequence[Any]:
    """running | pending -> failed: rows whose actor is gone (no heartbeat for
    `stale_after_s`) or that no actor took (for `pending_after_s`). Every tenant at once;
    UPDATE ... RETURNING hands each row to one sweeper. Rows: ENDED_COLUMNS + session_id,
    `progress` (what a dead attempt streamed, to bill) and `error_code` (actor_lost |
    not_started)."""
    async with db.scope(system=True):  # cross-tenant by nature: it looks at every tenant
        return await db.fetch(
            "UPDATE executions SET status = 'failed', completed_at = now(), updated_at = now(), "  # noqa: S608 (constant SQL)
            "error_message = CASE status WHEN 'running' THEN $3 ELSE $4 END, "
            "result_data = jsonb_build_object('error_code', "
            "CASE status WHEN 'running' THEN 'actor_lost' ELSE 'not_started' END) "
            "WHERE (status = 'running' AND updated_at < now() - make_interval(secs => $1)) "
            "OR (status = 'pending' AND updated_at < now() - make_interval(secs => $2)) "
            f"RETURNING {ENDED_COLUMNS}, session_id, progress, result_data->>'error_code' AS error_code",
            float(stale_after_s),
            float(pending_after_s),
            ACTOR_LOST,
            NEVER_STARTED,
        )


# --- every ending announces itself -----------------------------------------------------


def job_result(row: Any) -> JobResult:
    """The `JobResult` of an ended execution row (id, status, result_data, usage,
    error_message, correlation_id): `completed`, or `failed` with the reason (a
    cancelled execution's code is `cancelled`)."""
    data = _json(row["result_data"]) or {}
    usage = _json(row["usage"])
    if row["status"] == S.COMPLETED:
        output = data.get("output") if data.get("output") is not None else data.get("text", "")
        return JobResult(
            correlation_id=row["correlation_id"],
            execution_id=row["id"],
            status="completed",
            output=output,
            usage=msgspec.convert(usage, Usage) if usage else None,
        )
    code = S.CANCELLED.value if row["status"] == S.CANCELLED else data.get("error_code") or "failed"
    return JobResult(
        correlation_id=row["correlation_id"],
        execution_id=row["id"],
        status="failed",
        usage=msgspec.convert(usage, Usage) if usage else None,
        error=ErrorInfo(code=code, message=row["error_message"] or f"The execution was {row['status']}."),
    )


async def announce_end(broker: RabbitBroker, topo: Topology, row: Any) -> None:
    """Send an ended execution's result (reply_to and the results exchange), queue its
    webhook and, for a Telegram/WhatsApp turn, its reply through the channel: the same for
    every ending, whoever ended it (actor, REST cancel, sweeper).
    At-least-once: consumers dedupe by execution_id."""
    if row["source"] == "queue" or row["reply_to"]:  # a job, or anyone who asked
        await publish_result(broker, topo, row["tenant_id"], job_result(row), row["reply_to"])
    if row["webhook_url"]:
        request = WebhookRequested(execution_id=row["id"], tenant_id=row["tenant_id"], url=row["webhook_url"])
        await publish_webhook(broker, topo, request)
    if row["source"] in CHANNEL_SOURCES:  # the reply goes back to the Telegram/WhatsApp chat
        reply = ChannelReplyRequested(execution_id=row["id"], tenant_id=row["tenant_id"])
        await publish_channel_reply(broker, topo, reply)
