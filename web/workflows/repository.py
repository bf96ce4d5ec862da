"""SQL of workflows and their runs; every function runs in the caller's `db.scope` and
filters by tenant."""

from __future__ import annotations

import json
import uuid
from typing import Any

from runtime import db

COLUMNS = "id, name, description, dag_structure, version, is_active, created_at, updated_at"
RUN_COLUMNS = (
    "id, workflow_id, workflow_version, status, input_data->'input' AS input, result_data, "
    "error_message, usage, created_at, started_at, completed_at"
)


def _decoded(row: Any, *keys: str) -> dict[str, Any]:
    out = dict(row)
    for key in keys:
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out


async def workflows(tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await db.fetch(
        f"SELECT {COLUMNS} FROM workflows WHERE tenant_id = $1 ORDER BY created_at DESC",  # noqa: S608 (constant SQL)
        tenant_id,
    )
    return [_decoded(r, "dag_structure") for r in rows]


async def workflow(tenant_id: uuid.UUID, workflow_id: uuid.UUID) -> dict[str, Any] | None:
    row = await db.fetchrow(
        f"SELECT {COLUMNS} FROM workflows WHERE id = $1 AND tenant_id = $2",  # noqa: S608 (constant SQL)
        workflow_id,
        tenant_id,
    )
    return None if row is None else _decoded(row, "dag_structure")


async def insert(
    tenant_id: uuid.UUID, name: str, description: str | None, dag: Any, is_active: bool
) -> uuid.UUID:
    workflow_id = uuid.uuid4()
    await db.execute(
        "INSERT INTO workflows (id, tenant_id, name, description, dag_structure, version, is_active, "
        "created_at, updated_at) VALUES ($1, $2, $3, $4, $5::jsonb, 1, $6, now(), now())",
        workflow_id,
        tenant_id,
        name,
        description,
        json.dumps(dag),
        is_active,
    )
    return workflow_id


async def update(tenant_id: uuid.UUID, workflow_id: uuid.UUID, fields: dict[str, Any]) -> None:
    """Change `fields`; a new `dag_structure` is a new version."""
    sets: list[str] = []
    args: list[Any] = [workflow_id, tenant_id]
    for key in ("name", "description", "is_active"):
        if key in fields:
            args.append(fields[key])
            sets.append(f"{key} = ${len(args)}")
    if "dag_structure" in fields:
        args.append(json.dumps(fields["dag_structure"]))
        sets.append(f"dag_structure = ${len(args)}::jsonb, version = version + 1")
    sets.append("updated_at = now()")
    await db.execute(
        f"UPDATE workflows SET {', '.join(sets)} WHERE id = $1 AND tenant_id = $2",  # noqa: S608 (columns are constants)
        *args,
    )


async def delete(tenant_id: uuid.UUID, workflow_id: uuid.UUID) -> bool:
    done = await db.execute("DELETE FROM workflows WHERE id = $1 AND tenant_id = $2", workflow_id, tenant_id)
    return done.endswith(" 1")


async def known_agents(tenant_id: uuid.UUID, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    rows = await db.fetch(
        "SELECT id FROM agents WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND is_active", tenant_id, ids
    )
    return {r["id"] for r in rows}


async def chat_models(keys: list[str]) -> set[str]:
    rows = await db.fetch(
        "SELECT model_key FROM ai_models "
        "WHERE model_key = ANY($1::text[]) AND is_active AND model_type = 'chat'",
        keys,
    )
    return {r["model_key"] for r in rows}


async def runs(
    tenant_id: uuid.UUID, workflow_id: uuid.UUID, viewer: uuid.UUID | None, limit: int
) -> list[dict[str, Any]]:
    rows = await db.fetch(
        f"SELECT {RUN_COLUMNS} FROM executions WHERE tenant_id = $1 AND workflow_id = $2 "  # noqa: S608 (constant SQL)
        "AND ($3::uuid IS NULL OR user_id = $3::uuid) ORDER BY created_at DESC LIMIT $4",
        tenant_id,
        workflow_id,
        viewer,
        limit,
    )
    return [_decoded(r, "input", "result_data", "usage") for r in rows]


async def run(tenant_id: uuid.UUID, run_id: uuid.UUID, viewer: uuid.UUID | None) -> dict[str, Any] | None:
    row = await db.fetchrow(
        f"SELECT {RUN_COLUMNS} FROM executions WHERE id = $1 AND tenant_id = $2 "  # noqa: S608 (constant SQL)
        "AND workflow_id IS NOT NULL AND ($3::uuid IS NULL OR user_id = $3::uuid)",
        run_id,
        tenant_id,
        viewer,
    )
    return None if row is None else _decoded(row, "input", "result_data", "usage")


async def node_runs(tenant_id: uuid.UUID, run_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT node_id, item, status, branch, output, text, error, started_at, completed_at "
        "FROM workflow_node_runs WHERE execution_id = $1 AND tenant_id = $2 ORDER BY started_at, item",
        run_id,
        tenant_id,
    )
    return [_decoded(r, "output") for r in rows]


async def give_input(
    tenant_id: uuid.UUID, run_id: uuid.UUID, node_id: str, value: Any, user_id: uuid.UUID
) -> bool:
    """Complete a waiting human node of a running run with a person's input."""
    row = await db.fetchrow(
        "UPDATE workflow_node_runs n SET status = 'completed', completed_at = now(), "
        "output = jsonb_build_object('input', $4::jsonb, 'timed_out', false, 'by', $5::text) "
        "FROM executions e WHERE e.id = n.execution_id AND e.tenant_id = $2 AND e.status = 'running' "
        "AND n.execution_id = $1 AND n.tenant_id = $2 AND n.node_id = $3 AND n.item = -1 "
        "AND n.status = 'waiting' RETURNING n.id",
        run_id,
        tenant_id,
        node_id,
        json.dumps(value),
        str(user_id),
    )
    return row is not None


async def tool_hosts(tenant_id: uuid.UUID) -> list[str]:
    row = await db.fetchrow("SELECT workflow_tool_hosts FROM tenants WHERE id = $1", tenant_id)
    return list(row["workflow_tool_hosts"] or []) if row else []


async def set_tool_hosts(tenant_id: uuid.UUID, hosts: list[str]) -> None:
    await db.execute("UPDATE tenants SET workflow_tool_hosts = $2 WHERE id = $1", tenant_id, hosts)


async def find_turn(tenant_id: uuid.UUID, session_id: uuid.UUID, client_id: str) -> Any:
    """The run an earlier send of this chat message started: `execution_id, message_id, status`."""
    return await db.fetchrow(
        "SELECT m.execution_id, m.id AS message_id, e.status FROM messages m "
        "JOIN executions e ON e.id = m.execution_id "
        "WHERE m.tenant_id = $1 AND m.session_id = $2 AND m.client_id = $3",
        tenant_id,
        session_id,
        client_id,
    )


async def attach_turn(tenant_id: uuid.UUID, execution_id: uuid.UUID, turn: Any) -> uuid.UUID:
    """Give an admitted run its chat session and store the user's message (its id)."""
    message_id = uuid.uuid4()
    await db.execute(
        "UPDATE executions SET session_id = $3 WHERE id = $1 AND tenant_id = $2",
        execution_id,
        tenant_id,
        turn.session_id,
    )
    await db.execute(
        "INSERT INTO messages (id, tenant_id, session_id, execution_id, role, content, client_id, "
        "created_at) VALUES ($1, $2, $3, $4, 'user', $5, $6, clock_timestamp())",
        message_id,
        tenant_id,
        turn.session_id,
        execution_id,
        turn.content,
        turn.client_id,
    )
    return message_id
