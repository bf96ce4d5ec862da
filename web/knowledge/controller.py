"""`/documents` (upload, list, read, delete), `/knowledge/search`, and `/agents/{id}/documents`
(which documents an agent may search). Tenant admins write, every member reads.
docs/knowledge.md "API"."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, Response, delete, get, post, put
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter

from runtime.settings import get_settings
from web.auth.guards import requires_tenant_admin, requires_tenant_member
from web.knowledge.deps import provide_document_service
from web.knowledge.schemas import (
    AgentDocumentsIn,
    DocumentDetail,
    DocumentOut,
    Mode,
    Query,
    SearchHit,
    SearchOut,
)
from web.knowledge.service import DocumentService

MULTIPART_OVERHEAD = 64 * 1024
"""Room for the multipart framing around the file within the request body limit."""


class UploadForm(msgspec.Struct):
    """`file`: the document; `agent_id` (optional): attach it to that agent."""

    file: UploadFile
    agent_id: uuid.UUID | None = None


class DocumentController(Controller):
    """The tenant's documents."""

    path = "/documents"
    dependencies = {"documents": Provide(provide_document_service)}
    tags = ["knowledge"]

    @post(
        "/",
        guards=[requires_tenant_admin],
        request_max_body_size=get_settings().knowledge.max_document_bytes + MULTIPART_OVERHEAD,
    )
    async def upload_document(
        self,
        documents: DocumentService,
        data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        ip: str | None,
    ) -> Response[DocumentDetail]:
        """Upload a PDF, DOCX, HTML, Markdown or text file (multipart field `file`); 201 and
        `upload_status: processing` while it is ingested in the background, 200 with the
        existing document when the tenant already uploaded the same content."""
        content = await data.file.read()
        row, created = await documents.upload(data.file.filename, content, data.agent_id, ip)
        return Response(msgspec.convert(row, DocumentDetail), status_code=201 if created else 200)

    @get("/", guards=[requires_tenant_member])
    async def list_documents(self, documents: DocumentService) -> list[DocumentOut]:
        """The tenant's documents, newest first."""
        return msgspec.convert(await documents.listing(), list[DocumentOut])

    @get("/{document_id:uuid}", guards=[requires_tenant_member])
    async def get_document(
        self,
        documents: DocumentService,
        document_id: uuid.UUID,
        chunk: Annotated[int, Parameter(ge=0)] | None = None,
    ) -> DocumentDetail:
        """One document, its status (and why it failed) and a few chunks: its first ones, or
        those around `chunk` (a citation's)."""
        return msgspec.convert(await documents.get(document_id, chunk), DocumentDetail)

    @delete("/{document_id:uuid}", guards=[requires_tenant_admin], status_code=204)
    async def delete_document(
        self, documents: DocumentService, document_id: uuid.UUID, ip: str | None
    ) -> None:
        """Delete a document with its chunks: agents no longer find or cite it."""
        await documents.delete(document_id, ip)


class KnowledgeController(Controller):
    """Search the tenant's documents."""

    path = "/knowledge"
    dependencies = {"documents": Provide(provide_document_service)}
    tags = ["knowledge"]

    @get("/search", guards=[requires_tenant_member])
    async def search_knowledge(
        self,
        documents: DocumentService,
        q: Query,
        agent_id: uuid.UUID | None = None,
        mode: Mode = "hybrid",
        limit: Annotated[int, Parameter(ge=1, le=50)] = 5,
    ) -> SearchOut:
        """The chunks that best match `q` (hybrid: vector and full text fused by reciprocal
        rank), among the tenant's documents or, with `agent_id`, that agent's."""
        hits = await documents.search(q, agent_id, mode, limit)
        out = [
            SearchHit(h.document_id, h.filename, h.chunk_index, h.content, round(h.score, 6)) for h in hits
        ]
        return SearchOut(q, mode, out)


class AgentDocumentsController(Controller):
    """Which documents an agent may search (its `knowledge_search` tool)."""

    path = "/agents/{agent_id:uuid}/documents"
    dependencies = {"documents": Provide(provide_document_service)}
    tags = ["knowledge"]

    @get("/", guards=[requires_tenant_member])
    async def list_agent_documents(self, documents: DocumentService, agent_id: uuid.UUID) -> AgentDocumentsIn:
        """The ids of the documents attached to the agent."""
        return AgentDocumentsIn(await documents.agent_documents(agent_id))

    @put("/", guards=[requires_tenant_admin])
    async def set_agent_documents(
        self, documents: DocumentService, agent_id: uuid.UUID, data: AgentDocumentsIn, ip: str | None
    ) -> AgentDocumentsIn:
        """Replace the documents attached to the agent."""
        return AgentDocumentsIn(await documents.set_agent_documents(agent_id, data.document_ids, ip))
