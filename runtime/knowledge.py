"""Retrieval over a tenant's document chunks: vector, keyword and hybrid (docs/knowledge.md).

Shared by web (`GET /api/v1/knowledge/search`, the console's test box) and the actors (the
`knowledge_search` tool), so both rank the same way. Every query runs in the caller's
tenant scope (row-level security) and still names the tenant; `agent_id` narrows the search
to the documents attached to that agent.

Hybrid ranking is reciprocal rank fusion: each chunk scores `1 / (RRF_K + rank)` in each list
it appears in (cosine distance over the pgvector HNSW index; `ts_rank_cd` over the
`tsvector`), summed. Vectors are passed as pgvector's text form (`'[0.1,0.2,...]'::vector`),
so asyncpg needs no codec.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from runtime import db

DIMENSIONS = 256
"""`document_chunks.embedding` is `vector(DIMENSIONS)`: the `demo-embed` size; other models are
asked for this many dimensions (docs/knowledge.md "Dimensions")."""
RRF_K = 60  # written into _SEARCH
"""The usual constant of reciprocal rank fusion: damps the weight of the very first ranks."""
CANDIDATES = 50  # written into _SEARCH
"""Chunks each list contributes before fusion. Vector hits count only when closer than
orthogonal (cosine distance < 1): a chunk sharing nothing with the query is no match."""

Mode = Literal["hybrid", "vector", "keyword"]


@dataclass(frozen=True)
class Hit:
    """One chunk found, with its fused score."""

    chunk_id: uuid.UUID
    document_id: uuid.UUID
    filename: str
    chunk_index: int
    content: str
    score: float


def vector_literal(vector: list[float]) -> str:
    """pgvector's text form of `vector`."""
    return "[" + ",".join(repr(float(v)) for v in vector) + "]"


_SEARCH = """
WITH allowed AS (
  SELECT d.id, d.filename FROM documents d
  WHERE d.tenant_id = $1 AND d.upload_status = 'completed'
    AND ($2::uuid IS NULL OR EXISTS (
      SELECT 1 FROM agent_documents ad
      WHERE ad.tenant_id = $1 AND ad.agent_id = $2 AND ad.document_id = d.id))
),
vec AS (
  SELECT c.id, row_number() OVER (ORDER BY c.embedding <=> $3::vector, c.id) AS r
  FROM document_chunks c JOIN allowed a ON a.id = c.document_id
  WHERE $5 AND c.tenant_id = $1 AND c.embedding <=> $3::vector < 1
  ORDER BY c.embedding <=> $3::vector, c.id LIMIT 50
),
q AS (SELECT replace(plainto_tsquery('english', $4)::text, '&', '|') AS text),
kw AS (
  SELECT c.id, row_number() OVER (ORDER BY ts_rank_cd(c.tsv, query) DESC, c.id) AS r
  FROM document_chunks c JOIN allowed a ON a.id = c.document_id,
       q, LATERAL (SELECT NULLIF(q.text, '')::tsquery AS query) t
  WHERE $6 AND c.tenant_id = $1 AND t.query IS NOT NULL AND c.tsv @@ t.query
  ORDER BY ts_rank_cd(c.tsv, query) DESC, c.id LIMIT 50
)
SELECT c.id, c.document_id, a.filename, c.chunk_index, c.content,
       COALESCE(1.0 / (60 + vec.r), 0) + COALESCE(1.0 / (60 + kw.r), 0) AS score
FROM (SELECT id FROM vec UNION SELECT id FROM kw) found
JOIN document_chunks c ON c.id = found.id
JOIN allowed a ON a.id = c.document_id
LEFT JOIN vec ON vec.id = c.id
LEFT JOIN kw ON kw.id = c.id
ORDER BY score DESC, c.document_id, c.chunk_index
LIMIT $7
"""


async def search(
    tenant_id: uuid.UUID,
    query: str,
    vector: list[float] | None,
    *,
    agent_id: uuid.UUID | None = None,
    limit: int = 5,
    mode: Mode = "hybrid",
) -> list[Hit]:
    """The best `limit` chunks of the tenant's completed documents (of the agent's, when
    `agent_id` is given) for `query`; `vector` is the query's embedding (None: keyword only).

    Opens its own tenant scope: the only caller-independent read of chunks.
    """
    use_vector = mode != "keyword" and vector is not None
    use_keyword = mode != "vector"
    literal = vector_literal(vector) if vector is not None else vector_literal([0.0] * DIMENSIONS)
    async with db.scope(tenant_id):
        # pgvector 0.8: keep scanning the HNSW graph until enough rows pass the filters.
        await db.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        rows = await db.fetch(_SEARCH, tenant_id, agent_id, literal, query, use_vector, use_keyword, limit)
    return [
        Hit(r["id"], r["document_id"], r["filename"], r["chunk_index"], r["content"], float(r["score"]))
        for r in rows
    ]


async def agent_has_documents(tenant_id: uuid.UUID, agent_id: uuid.UUID) -> bool:
    """True when the agent has at least one document attached (it then gets `knowledge_search`)."""
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "SELECT EXISTS (SELECT 1 FROM agent_documents WHERE tenant_id = $1 AND agent_id = $2) AS has",
            tenant_id,
            agent_id,
        )
    return bool(row and row["has"])
