"""SQL of a workflow run: its claim, its node runs (`workflow_node_runs`), its agents.

Every query runs in `db.scope(tenant_id)` and filters by tenant too. A node run row is
keyed by (execution, node, item): `item` is -1 for a node, the index for a `map` item.
A row only ever leaves `completed`/`skipped`/`failed` by a new run of the execution, never:
what finished stays finished, which is what makes a resumed run bill nothing twice.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from runtime import db

FINAL = ("completed", "failed", "skipped")
"""Node run statuses a resumed run takes as they are."""


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class RunClaim:
    """A workflow run this actor now runs: its attempt, input and DAG."""

    attempt: int
    input: dict[str, Any]
    dag: dict[str, Any]
    workflow_id: uuid.UUID | None
    version: int | None
    tool_hosts: list[str]
    progress: Any = None
    """executions.progress as an earlier attempt left it: its calls in flight (actors.progress)."""


async def claim(execution_id: uuid.UUID, tenant_id: uuid.UUID) -> RunClaim | None:
    """pending | running -> running (the next attempt); None when the run already ended."""
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "UPDATE executions SET status = 'running', attempt = attempt + 1, "
            "started_at = COALESCE(started_at, now()), updated_at = now() "
            "WHERE id = $1 AND tenant_id = $2 AND status IN ('pending', 'running') "
            "RETURNING attempt, input_data, workflow_id, workflow_version, progress, "
            "(SELECT workflow_tool_hosts FROM tenants WHERE id = $2) AS tool_hosts",
            execution_id,
            tenant_id,
        )
    if row is None:
        return None
    data = _json(row["input_data"]) or {}
    workflow = data.get("workflow") or {}
    return RunClaim(
        attempt=row["attempt"],
        input=data["input"] if isinstance(data.get("input"), dict) else {},
        dag=workflow.get("dag") or {"nodes": [], "edges": []},
        workflow_id=row["workflow_id"],
        version=row["workflow_version"],
        tool_hosts=list(row["tool_hosts"] or []),
        progress=row["progress"],
    )


@dataclass(frozen=True)
class NodeRun:
    """A stored node run."""

    node_id: str
    item: int
    status: str
    branch: str | None
    output: Any
    text: str
    error: str | None
    started_at: Any


async def node_runs(execution_id: uuid.UUID, tenant_id: uuid.UUID) -> list[NodeRun]:
    """Every node run of the execution."""
    async with db.scope(tenant_id):
        rows = await db.fetch(
            "SELECT node_id, item, status, branch, output, text, error, started_at "
            "FROM workflow_node_runs WHERE execution_id = $1 AND tenant_id = $2 ORDER BY started_at",
            execution_id,
            tenant_id,
        )
    return [
        NodeRun(
            r["node_id"],
            r["item"],
            r["status"],
            r["branch"],
            _json(r["output"]),
            r["text"],
            r["error"],
            r["started_at"],
        )
        for r in rows
    ]


async def started(
    execution_id: uuid.UUID,
    tenant_id: uuid.UUID,
    node_id: str,
    item: int,
    attempt: int,
    status: str = "running",
) -> NodeRun:
    """Mark a node run started (`running`, or `waiting` for a human node); a human node
    keeps its first start (its timeout counts from there) and a finished row stays as it
    is. Returns the row as it now is."""
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "INSERT INTO workflow_node_runs "
            "(id, tenant_id, execution_id, node_id, item, status, attempt, started_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, now()) "
            "ON CONFLICT (execution_id, node_id, item) DO UPDATE SET "
            "status = CASE WHEN workflow_node_runs.status IN ('completed', 'waiting') "
            "  THEN workflow_node_runs.status ELSE EXCLUDED.status END, "
            "attempt = EXCLUDED.attempt, text = CASE WHEN workflow_node_runs.status = 'completed' "
            "  THEN workflow_node_runs.text ELSE '' END, "
            "started_at = CASE WHEN workflow_node_runs.status IN ('completed', 'waiting') "
            "  THEN workflow_node_runs.started_at ELSE now() END "
            "RETURNING node_id, item, status, branch, output, text, error, started_at",
            uuid.uuid4(),
            tenant_id,
            execution_id,
            node_id,
            item,
            status,
            attempt,
        )
    assert row is not None
    return NodeRun(
        row["node_id"],
        row["item"],
        row["status"],
        row["branch"],
        _json(row["output"]),
        row["text"],
        row["error"],
        row["started_at"],
    )


async def finished(
    execution_id: uuid.UUID,
    tenant_id: uuid.UUID,
    node_id: str,
    item: int,
    *,
    status: str,
    output: Any = None,
    branch: str | None = None,
    text: str = "",
    error: str | None = None,
    usage: Any = None,
) -> None:
    """Store how a node run ended (insert for a node that never started: skipped)."""
    async with db.scope(tenant_id):
        await db.execute(
            "INSERT INTO workflow_node_runs (id, tenant_id, execution_id, node_id, item, status, branch, "
            "output, text, error, usage, started_at, completed_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11::jsonb, now(), now()) "
            "ON CONFLICT (execution_id, node_id, item) DO UPDATE SET status = EXCLUDED.status, "
            "branch = EXCLUDED.branch, output = EXCLUDED.output, text = EXCLUDED.text, "
            "error = EXCLUDED.error, usage = EXCLUDED.usage, completed_at = now() "
            "WHERE workflow_node_runs.status <> 'completed'",
            uuid.uuid4(),
            tenant_id,
            execution_id,
            node_id,
            item,
            status,
            branch,
            json.dumps(output),
            text,
            error,
            json.dumps(usage),
        )


async def agent_config(agent_id: str, tenant_id: uuid.UUID) -> dict[str, Any] | None:
    """The role, llm_config and output_schema of an active agent of the tenant."""
    try:
        key = uuid.UUID(str(agent_id))
    except ValueError:
        return None
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "SELECT role, llm_config, output_schema FROM agents "
            "WHERE id = $1 AND tenant_id = $2 AND is_active",
            key,
            tenant_id,
        )
    if row is None:
        return None
    return {
        "role": row["role"],
        "llm_config": _json(row["llm_config"]) or {},
        "output_schema": _json(row["output_schema"]),
    }


async def workflow_of(execution_id: uuid.UUID, tenant_id: uuid.UUID) -> uuid.UUID | None:
    """The workflow a (promoted) execution runs, if it is a workflow run."""
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "SELECT workflow_id FROM executions WHERE id = $1 AND tenant_id = $2", execution_id, tenant_id
        )
    return None if row is None else row["workflow_id"]
