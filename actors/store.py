"""Every SQL statement of the actors process (executions, agents, history).

Each tenant query runs in `db.scope(tenant_id)` *and* filters by tenant in SQL: row-level
security is the second wall, not the only one. Ownership of a running execution is its
`attempt`: every write of an attempt says `AND attempt = $n AND status = 'running'`, so an
attempt that lost the execution (sweeper, a newer attempt) can no longer change it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from runtime import db

ACTIVE = ("pending", "running")


def _json(value: Any) -> Any:
    """asyncpg hands jsonb back as text unless a codec is set; accept both."""
    return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Claim:
    """An execution this actor now runs."""

    attempt: int
    agent_id: uuid.UUID | None
    session_id: uuid.UUID | None
    input: str
    progress: Any = None
    """executions.progress as the previous attempt left it (`actors.progress`)."""


@dataclass(frozen=True)
class AgentConfig:
    """What the actor needs of an agent."""

    role: str
    llm_config: dict[str, Any]
    output_schema: dict[str, Any] | None


async def claim(execution_id: uuid.UUID, tenant_id: uuid.UUID) -> Claim | None:
    """Mark the execution running with the next attempt; None when it already ended.

    A `running` row here means an earlier attempt died (its message was redelivered):
    the new attempt takes over.
    """
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "UPDATE executions SET status = 'running', attempt = attempt + 1, "
            "started_at = COALESCE(started_at, now()), updated_at = now() "
            "WHERE id = $1 AND tenant_id = $2 AND status IN ('pending', 'running') "
            "RETURNING attempt, agent_id, session_id, input_data, progress",
            execution_id,
            tenant_id,
        )
    if row is None:
        return None
    data = _json(row["input_data"]) or {}
    text = data.get("content") or data.get("input") or ""
    return Claim(row["attempt"], row["agent_id"], row["session_id"], str(text), row["progress"])


async def earlier_active(execution_id: uuid.UUID, tenant_id: uuid.UUID) -> bool:
    """True while an earlier execution of the same session is pending or running.

    Serves the `enqueue` double-texting policy: a session's messages are answered in order.
    """
    async with db.scope(tenant_id):
        return bool(
            await db.fetchrow(
                "SELECT 1 FROM executions me JOIN executions p ON p.session_id = me.session_id "
                "WHERE me.id = $1 AND me.tenant_id = $2 AND p.tenant_id = $2 "
                "AND p.status IN ('pending', 'running') "
                "AND (p.created_at, p.id) < (me.created_at, me.id) LIMIT 1",
                execution_id,
                tenant_id,
            )
        )


async def status_of(execution_id: uuid.UUID, tenant_id: uuid.UUID) -> str | None:
    """The execution's status, or None when it does not exist."""
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "SELECT status FROM executions WHERE id = $1 AND tenant_id = $2",
            execution_id,
            tenant_id,
        )
    return None if row is None else row["status"]


async def load_agent(agent_id: uuid.UUID | None, tenant_id: uuid.UUID) -> AgentConfig | None:
    """The agent's prompt and model settings; None when it is gone or inactive."""
    if agent_id is None:
        return None
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "SELECT role, llm_config, output_schema FROM agents "
            "WHERE id = $1 AND tenant_id = $2 AND is_active",
            agent_id,
            tenant_id,
        )
    if row is None:
        return None
    return AgentConfig(row["role"], _json(row["llm_config"]) or {}, _json(row["output_schema"]))


async def history(
    execution_id: uuid.UUID, session_id: uuid.UUID, tenant_id: uuid.UUID, limit: int = 200
) -> list[dict[str, str]]:
    """The session's turns up to and including this execution's user message, newest first.

    Ordered by execution, not by message time: with `enqueue`, a later user message is
    written while the previous reply still streams, yet belongs after that reply.
    """
    async with db.scope(tenant_id):
        rows = await db.fetch(
            "SELECT m.role, m.content FROM messages m "
            "JOIN executions e ON e.id = m.execution_id AND e.tenant_id = $3 "
            "JOIN executions me ON me.id = $1 AND me.tenant_id = $3 "
            "WHERE m.session_id = $2 AND m.tenant_id = $3 "
            "AND (e.created_at, e.id) <= (me.created_at, me.id) "
            "AND NOT (e.id = me.id AND m.role <> 'user') "
            "ORDER BY e.created_at DESC, e.id DESC, (m.role = 'user'), m.created_at DESC "
            "LIMIT $4",
            execution_id,
            session_id,
            tenant_id,
            limit,
        )
    return [{"role": r["role"], "content": r["content"]} for r in rows]


@dataclass(frozen=True)
class Begun:
    """A claimed execution with what its first LLM call needs (`begin`)."""

    claim: Claim
    agent: AgentConfig | None
    turns: list[dict[str, str]] | None
    """The session's history (`history`), None for an execution without a session."""


NOT_YET = "not-yet"
"""`begin`'s answer while an earlier execution of the session is still active."""


async def begin(execution_id: uuid.UUID, tenant_id: uuid.UUID, *, wait_turn: bool) -> Begun | str | None:
    """Check the session's turn, claim, load the agent and the history: ONE transaction.

    The same statements as `earlier_active`, `claim`, `load_agent` and `history`, on one
    connection between one BEGIN and one COMMIT instead of four transactions: they all sit
    between the start message and the first token. NOT_YET (nothing written) while an
    earlier execution of the session is active; None when the execution already ended.
    """
    async with db.scope(tenant_id):
        if wait_turn and await earlier_active(execution_id, tenant_id):
            return NOT_YET
        claimed = await claim(execution_id, tenant_id)
        if claimed is None:
            return None
        agent = await load_agent(claimed.agent_id, tenant_id)
        turns = None
        if claimed.session_id is not None and agent is not None:
            turns = await history(execution_id, claimed.session_id, tenant_id)
    return Begun(claimed, agent, turns)


async def heartbeat(
    execution_id: uuid.UUID, tenant_id: uuid.UUID, attempt: int, progress: str | None = None
) -> bool:
    """Show the sweeper this attempt is alive, with its `progress` (JSON) when it has some;
    False when it no longer owns the execution."""
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

    status: str  # completed | failed | cancelled
    text: str
    result_data: Any
    usage: dict[str, Any] | None
    error: str | None = None


async def finish(
    execution_id: uuid.UUID,
    tenant_id: uuid.UUID,
    session_id: uuid.UUID | None,
    attempt: int,
    outcome: Outcome,
) -> bool:
    """Store the result and the assistant message in one transaction.

    False when this attempt no longer owns the execution (nothing is written).
    """
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "UPDATE executions SET status = $4, completed_at = now(), updated_at = now(), "
            "result_data = $5::jsonb, usage = $6::jsonb, error_message = $7 "
            "WHERE id = $1 AND tenant_id = $2 AND status = 'running' AND attempt = $3 "
            "RETURNING id",
            execution_id,
            tenant_id,
            attempt,
            outcome.status,
            json.dumps(outcome.result_data),
            json.dumps(outcome.usage),
            outcome.error,
        )
        if row is None:
            return False
        if session_id is not None and outcome.text:
            await db.execute(
                "INSERT INTO messages (id, tenant_id, session_id, execution_id, role, content) "
                "VALUES ($1, $2, $3, $4, 'assistant', $5)",
                uuid.uuid4(),
                tenant_id,
                session_id,
                execution_id,
                outcome.text,
            )
    return True


async def fail_unclaimed(execution_id: uuid.UUID, tenant_id: uuid.UUID, attempt: int, error: str) -> bool:
    """Fail an execution this attempt claimed but will not run (too many attempts)."""
    return await finish(execution_id, tenant_id, None, attempt, Outcome("failed", "", None, None, error))


# --- after the end: job results, webhooks, the tenant's queued executions ---------------

ENDED_COLUMNS = (
    "id, tenant_id, status, result_data, usage, error_message, correlation_id, reply_to, webhook_url, source"
)


async def ended(execution_id: uuid.UUID, tenant_id: uuid.UUID) -> Any:
    """The execution's row once it has ended (completed, failed, cancelled), else None."""
    async with db.scope(tenant_id):
        return await db.fetchrow(
            f"SELECT {ENDED_COLUMNS} FROM executions "  # noqa: S608 (constant SQL)
            "WHERE id = $1 AND tenant_id = $2 AND status IN ('completed', 'failed', 'cancelled')",
            execution_id,
            tenant_id,
        )


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


async def promote(tenant_id: uuid.UUID) -> list[Promoted]:
    """Move the tenant's oldest `queued` executions to `pending`, as many as it has free slots.

    Under the same per-tenant advisory lock as admission (web.executions.service), so a
    slot is never handed out twice. Oldest first: a tenant's jobs start in the order sent.
    """
    async with db.scope(tenant_id):
        await db.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", str(tenant_id))
        rows = await db.fetch(
            "WITH t AS (SELECT tier, max_concurrency FROM tenants WHERE id = $1 AND status = 'active'), "
            "busy AS (SELECT count(*) AS n FROM executions WHERE tenant_id = $1 "
            "AND status IN ('pending', 'running')) "
            "UPDATE executions e SET status = 'pending', updated_at = clock_timestamp() "
            "FROM t WHERE e.id IN (SELECT id FROM executions WHERE tenant_id = $1 "
            "AND status = 'queued' ORDER BY created_at, id "
            "LIMIT GREATEST(0, (SELECT max_concurrency FROM t) - (SELECT n FROM busy))) "
            "RETURNING e.id, e.agent_id, e.input_data, e.correlation_id, e.reply_to, "
            "e.webhook_url, e.source, t.tier",
            tenant_id,
        )
    return [
        Promoted(
            r["id"],
            r["agent_id"],
            str((_json(r["input_data"]) or {}).get("input", "")),
            r["correlation_id"],
            r["reply_to"],
            r["webhook_url"],
            r["source"],
            r["tier"],
        )
        for r in rows
    ]


async def tenants_waiting() -> list[uuid.UUID]:
    """Tenants with queued executions (the periodic promotion's safety net)."""
    async with db.scope(system=True):  # cross-tenant by nature: it looks at every tenant
        rows = await db.fetch("SELECT DISTINCT tenant_id FROM executions WHERE status = 'queued'")
    return [r["tenant_id"] for r in rows]


async def webhook_secret(tenant_id: uuid.UUID, new_secret: str) -> str:
    """The tenant's stored (encrypted) webhook secret; `new_secret` is stored if it has none."""
    async with db.scope(tenant_id):
        await db.execute(
            "UPDATE tenants SET webhook_secret = $2 WHERE id = $1 AND webhook_secret IS NULL",
            tenant_id,
            new_secret,
        )
        row = await db.fetchrow("SELECT webhook_secret FROM tenants WHERE id = $1", tenant_id)
    if row is None:
        raise LookupError(f"tenant {tenant_id} vanished while its webhook was being signed")
    return row["webhook_secret"]


async def record_webhook_attempt(
    tenant_id: uuid.UUID, execution_id: uuid.UUID, url: str, status_code: int | None, error: str | None
) -> int:
    """Log one delivery attempt; returns its number (attempts of earlier deliveries count)."""
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "INSERT INTO webhook_deliveries (id, tenant_id, execution_id, url, attempt, status_code, "
            "error, created_at) SELECT $1, $2, $3, $4, COALESCE(max(attempt), 0) + 1, $5, $6, now() "
            "FROM webhook_deliveries WHERE execution_id = $3 AND tenant_id = $2 RETURNING attempt",
            uuid.uuid4(),
            tenant_id,
            execution_id,
            url,
            status_code,
            error,
        )
    assert row is not None  # INSERT ... SELECT over an aggregate always yields one row
    return row["attempt"]
