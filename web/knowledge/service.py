"""Documents and search of a tenant (docs/knowledge.md): its admins upload, delete and attach
documents to agents; every member lists them and searches."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from litestar.exceptions import NotFoundException, ValidationException

from runtime import db, documents, embeddings, knowledge
from runtime.errors import CodedError
from runtime.messages import DocumentIngest
from runtime.publishing import publish_ingest
from runtime.settings import get_settings
from web import audit
from web.auth.identity import Principal
from web.deps import found
from web.executions.bus import Bus
from web.knowledge import repository as repo

PREVIEW_CHUNKS = 5


class DocumentTypeError(CodedError):
    """The bytes are none of the types we read."""

    def __init__(self) -> None:
        super().__init__(
            "unsupported_document_type",
            "Unsupported document: upload a PDF, DOCX, HTML, Markdown or plain UTF-8 text file "
            "(the type is read from the content, not the name).",
            415,
        )


class DocumentService:
    """The caller's tenant's documents; every query runs in its scope and filters by it."""

    def __init__(self, me: Principal, bus: Bus | None) -> None:
        self.me, self.tenant_id, self.bus = me, me.tenant_id, bus

    async def _audit(self, action: str, document_id: uuid.UUID, ip: str | None, **details: Any) -> None:
        await audit.record(
            action,
            tenant_id=self.tenant_id,
            actor_id=self.me.id,
            target_type="document",
            target_id=document_id,
            ip=ip,
            **details,
        )

    async def upload(
        self, filename: str, content: bytes, agent_id: uuid.UUID | None, ip: str | None
    ) -> tuple[dict[str, Any], bool]:
        """Store a document and queue its ingestion; (document, created). The same content
        again is the same document (a failed one is queued again)."""
        limit = get_settings().knowledge.max_document_bytes
        if len(content) > limit:
            raise CodedError(
                "too_large", f"Documents are limited to {limit} bytes; this one has {len(content)}.", 413
            )
        if not content:
            raise ValidationException("The file is empty.")
        file_type = documents.sniff(content)
        if file_type is None:
            raise DocumentTypeError()
        digest = hashlib.sha256(content).hexdigest()
        name = (filename or "document").replace("\x00", "")[:255]
        async with db.scope(self.tenant_id):
            if agent_id is not None and not await repo.agent_exists(self.tenant_id, agent_id):
                raise NotFoundException("Agent not found.")
            document_id = await repo.insert(self.tenant_id, name, file_type, content, digest)
            created = document_id is not None
            if document_id is None:
                document_id = await repo.by_hash(self.tenant_id, digest)
                assert document_id is not None  # the conflicting row is ours and committed
                queue = await repo.retry_failed(self.tenant_id, document_id)
            else:
                queue = True
                await self._audit("document.upload", document_id, ip, filename=name, file_type=file_type)
            if agent_id is not None:
                await repo.attach(self.tenant_id, agent_id, document_id)
        if queue:
            await self._enqueue(document_id)
        return await self.get(document_id), created

    async def _enqueue(self, document_id: uuid.UUID) -> None:
        if self.bus is None:
            raise CodedError("unavailable", "The message broker is not connected; retry the upload.", 503)
        try:
            await publish_ingest(
                self.bus.broker,
                self.bus.topo,
                DocumentIngest(tenant_id=self.tenant_id, document_id=document_id),
            )
        except Exception as exc:
            async with db.scope(self.tenant_id):
                await db.execute(
                    "UPDATE documents SET upload_status = 'failed', error = $3 "
                    "WHERE tenant_id = $1 AND id = $2",
                    self.tenant_id,
                    document_id,
                    "The ingestion could not be queued; upload the file again.",
                )
            raise CodedError(
                "unavailable", "The message broker is unavailable; retry the upload.", 503
            ) from exc

    async def listing(self) -> list[dict[str, Any]]:
        """The tenant's documents, newest first."""
        async with db.scope(self.tenant_id):
            return await repo.documents(self.tenant_id)

    async def get(self, document_id: uuid.UUID, around: int | None = None) -> dict[str, Any]:
        """One document with a few chunks: the first ones, or those around chunk `around`
        (a citation's); 404 for another tenant's."""
        start = 0 if around is None else max(around - PREVIEW_CHUNKS // 2, 0)
        async with db.scope(self.tenant_id):
            row = found(await repo.document(self.tenant_id, document_id), "Document")
            row["preview"] = await repo.preview(self.tenant_id, document_id, start, PREVIEW_CHUNKS)
        return row

    async def delete(self, document_id: uuid.UUID, ip: str | None) -> None:
        """Delete a document, its chunks and its agent links: no answer cites it afterwards."""
        async with db.scope(self.tenant_id):
            if not await repo.delete(self.tenant_id, document_id):
                raise NotFoundException("Document not found.")
            await self._audit("document.delete", document_id, ip)

    async def agent_documents(self, agent_id: uuid.UUID) -> list[uuid.UUID]:
        """The documents an agent may search."""
        async with db.scope(self.tenant_id):
            if not await repo.agent_exists(self.tenant_id, agent_id):
                raise NotFoundException("Agent not found.")
            return await repo.agent_documents(self.tenant_id, agent_id)

    async def set_agent_documents(
        self, agent_id: uuid.UUID, document_ids: list[uuid.UUID], ip: str | None
    ) -> list[uuid.UUID]:
        """Replace the documents an agent may search (all must be the tenant's)."""
        wanted = list(dict.fromkeys(document_ids))
        async with db.scope(self.tenant_id):
            if not await repo.agent_exists(self.tenant_id, agent_id):
                raise NotFoundException("Agent not found.")
            unknown = set(wanted) - await repo.existing(self.tenant_id, wanted)
            if unknown:
                raise NotFoundException(f"Document not found: {sorted(map(str, unknown))[0]}.")
            await repo.set_agent_documents(self.tenant_id, agent_id, wanted)
            await audit.record(
                "agent.documents",
                tenant_id=self.tenant_id,
                actor_id=self.me.id,
                target_type="agent",
                target_id=agent_id,
                ip=ip,
                documents=len(wanted),
            )
            return await repo.agent_documents(self.tenant_id, agent_id)

    async def search(
        self, query: str, agent_id: uuid.UUID | None, mode: knowledge.Mode, limit: int
    ) -> list[knowledge.Hit]:
        """The best chunks of the tenant's documents (of the agent's, when given). The query's
        embedding is not billed: this is the console's test box, not an agent's call."""
        if agent_id is not None:
            async with db.scope(self.tenant_id):
                if not await repo.agent_exists(self.tenant_id, agent_id):
                    raise NotFoundException("Agent not found.")
        vector = None
        if mode != "keyword":
            model = get_settings().knowledge.embedding_model
            vector = (await embeddings.embed(model, [query], knowledge.DIMENSIONS)).vectors[0]
        return await knowledge.search(
            self.tenant_id, query, vector, agent_id=agent_id, limit=limit, mode=mode
        )
