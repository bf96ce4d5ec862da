"""SQL of documents and their chunks; every function runs in the caller's `db.scope` and
filters by tenant."""

from __future__ import annotations

import uuid
from typing import Any

from runtime import db

_COLUMNS = (
    "d.id, d.filename, d.file_type, COALESCE(d.file_size, '0')::bigint AS size_bytes, d.upload_status, "
    "d.error, d.chunk_count, d.embedding_tokens, d.created_at, d.updated_at, "
    "COALESCE((SELECT array_agg(ad.agent_id ORDER BY ad.created_at) FROM agent_documents ad "
    "  WHERE ad.document_id = d.id AND ad.tenant_id = d.tenant_id), '{}') AS agent_ids"
)


async def documents(tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """The tenant's documents, newest first."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM documents d WHERE d.tenant_id = $1 ORDER BY d.created_at DESC, d.id",  # noqa: S608
        tenant_id,
    )
    return [dict(r) for r in rows]


async def document(tenant_id: uuid.UUID, document_id: uuid.UUID) -> dict[str, Any] | None:
    """One document of the tenant."""
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM documents d WHERE d.tenant_id = $1 AND d.id = $2",  # noqa: S608
        tenant_id,
        document_id,
    )
    return None if row is None else dict(row)


async def by_hash(tenant_id: uuid.UUID, content_hash: str) -> uuid.UUID | None:
    """The tenant's document with this content, if any."""
    row = await db.fetchrow(
        "SELECT id FROM documents WHERE tenant_id = $1 AND content_hash = $2", tenant_id, content_hash
    )
    return None if row is None else row["id"]


async def insert(
    tenant_id: uuid.UUID, filename: str, file_type: str, content: bytes, content_hash: str
) -> uuid.UUID | None:
    """A new `processing` document; None when the tenant already has this content."""
    row = await db.fetchrow(
        "INSERT INTO documents (id, tenant_id, filename, file_type, file_size, upload_status, content, "
        "content_hash, created_at, updated_at) "
        "VALUES (gen_random_uuid(), $1, $2, $3, $4, 'processing', $5, $6, now(), now()) "
        "ON CONFLICT (tenant_id, content_hash) DO NOTHING RETURNING id",
        tenant_id,
        filename,
        file_type,
        str(len(content)),
        content,
        content_hash,
    )
    return None if row is None else row["id"]


async def retry_failed(tenant_id: uuid.UUID, document_id: uuid.UUID) -> bool:
    """A failed document back to `processing` (its content uploaded again); True when it was failed."""
    status = await db.execute(
        "UPDATE documents SET upload_status = 'processing', error = NULL, updated_at = now() "
        "WHERE tenant_id = $1 AND id = $2 AND upload_status = 'failed'",
        tenant_id,
        document_id,
    )
    return status == "UPDATE 1"


async def delete(tenant_id: uuid.UUID, document_id: uuid.UUID) -> bool:
    """Delete a document; its chunks and agent links go with it (ON DELETE CASCADE)."""
    status = await db.execute(
        "DELETE FROM documents WHERE tenant_id = $1 AND id = $2", tenant_id, document_id
    )
    return status == "DELETE 1"


async def preview(
    tenant_id: uuid.UUID, document_id: uuid.UUID, start: int, limit: int
) -> list[dict[str, Any]]:
    """`limit` chunks of a document from chunk `start` on."""
    rows = await db.fetch(
        "SELECT chunk_index, content FROM document_chunks WHERE tenant_id = $1 AND document_id = $2 "
        "AND chunk_index >= $3 ORDER BY chunk_index LIMIT $4",
        tenant_id,
        document_id,
        start,
        limit,
    )
    return [dict(r) for r in rows]


async def agent_exists(tenant_id: uuid.UUID, agent_id: uuid.UUID) -> bool:
    """The agent is the tenant's."""
    row = await db.fetchrow("SELECT 1 FROM agents WHERE tenant_id = $1 AND id = $2", tenant_id, agent_id)
    return row is not None


async def existing(tenant_id: uuid.UUID, document_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `document_ids` are the tenant's documents."""
    rows = await db.fetch(
        "SELECT id FROM documents WHERE tenant_id = $1 AND id = ANY($2::uuid[])", tenant_id, document_ids
    )
    return {r["id"] for r in rows}


async def agent_documents(tenant_id: uuid.UUID, agent_id: uuid.UUID) -> list[uuid.UUID]:
    """The documents attached to an agent, in the order they were attached."""
    rows = await db.fetch(
        "SELECT document_id FROM agent_documents WHERE tenant_id = $1 AND agent_id = $2 ORDER BY created_at",
        tenant_id,
        agent_id,
    )
    return [r["document_id"] for r in rows]


async def set_agent_documents(
    tenant_id: uuid.UUID, agent_id: uuid.UUID, document_ids: list[uuid.UUID]
) -> None:
    """Replace the agent's documents with `document_ids`."""
    await db.execute(
        "DELETE FROM agent_documents "
        "WHERE tenant_id = $1 AND agent_id = $2 AND NOT document_id = ANY($3::uuid[])",
        tenant_id,
        agent_id,
        document_ids,
    )
    await db.execute(
        "INSERT INTO agent_documents (id, tenant_id, agent_id, document_id, created_at) "
        "SELECT gen_random_uuid(), $1, $2, d, clock_timestamp() FROM unnest($3::uuid[]) AS d "
        "ON CONFLICT (agent_id, document_id) DO NOTHING",
        tenant_id,
        agent_id,
        document_ids,
    )


async def attach(tenant_id: uuid.UUID, agent_id: uuid.UUID, document_id: uuid.UUID) -> None:
    """Attach one document to an agent (kept when already attached)."""
    await db.execute(
        "INSERT INTO agent_documents (id, tenant_id, agent_id, document_id, created_at) "
        "VALUES (gen_random_uuid(), $1, $2, $3, now()) ON CONFLICT (agent_id, document_id) DO NOTHING",
        tenant_id,
        agent_id,
        document_id,
    )
