"""Knowledge: pgvector, chunks with a vector and a full-text column, documents attached to agents.

- `CREATE EXTENSION vector` (pgvector; `make services` installs it, docs/knowledge.md).
- `documents` keep the uploaded bytes until ingested, a SHA-256 of them (one document per
  tenant and content: re-uploading the same file is idempotent), why ingestion failed, and
  what it cost (chunks, embedding model, embedding tokens).
- `document_chunks.embedding` becomes `vector(256)` (the `demo-embed` dimension; other models
  are asked for 256 dimensions, see docs/knowledge.md "Dimensions") under an HNSW index for
  cosine distance; `tsv` is a generated `tsvector` under a GIN index for the keyword half of
  hybrid search. One chunk per (document, chunk_index).
- `agent_documents`: which documents an agent may search, a tenant table under RLS.
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-01T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Knowledge: pgvector, chunk vectors and full text, agent documents"

DIMENSIONS = 256  # frozen copy of runtime.knowledge.DIMENSIONS at the time of this migration


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    from piccolo_migrations.hirebuddha_2026_11_21t22_18_30_000000_security import tenant_table

    return [
        "CREATE EXTENSION IF NOT EXISTS vector",
        "ALTER TABLE documents ADD COLUMN content bytea NULL",
        "ALTER TABLE documents ADD COLUMN content_hash varchar(64) NULL",
        "ALTER TABLE documents ADD COLUMN error text NULL",
        "ALTER TABLE documents ADD COLUMN chunk_count integer NOT NULL DEFAULT 0",
        "ALTER TABLE documents ADD COLUMN embedding_model varchar(100) NULL",
        "ALTER TABLE documents ADD COLUMN embedding_tokens integer NOT NULL DEFAULT 0",
        "ALTER TABLE documents ADD CONSTRAINT documents_status "
        "CHECK (upload_status IN ('processing', 'completed', 'failed'))",
        "CREATE UNIQUE INDEX documents_tenant_content ON documents (tenant_id, content_hash)",
        "ALTER TABLE document_chunks DROP COLUMN embedding",
        f"ALTER TABLE document_chunks ADD COLUMN embedding vector({DIMENSIONS}) NULL",
        "ALTER TABLE document_chunks ADD COLUMN tsv tsvector "
        "GENERATED ALWAYS AS (to_tsvector('english', content)) STORED",
        "CREATE UNIQUE INDEX document_chunks_position ON document_chunks (document_id, chunk_index)",
        "CREATE INDEX document_chunks_embedding ON document_chunks USING hnsw (embedding vector_cosine_ops)",
        "CREATE INDEX document_chunks_tsv ON document_chunks USING gin (tsv)",
        """CREATE TABLE agent_documents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (agent_id, document_id)
)""",
        "CREATE INDEX agent_documents_document ON agent_documents (document_id)",
        "CREATE INDEX agent_documents_tenant ON agent_documents (tenant_id)",
        *tenant_table("agent_documents"),
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
