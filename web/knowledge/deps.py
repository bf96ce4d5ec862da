"""Providers of the knowledge domain."""

from __future__ import annotations

from litestar import Request

from web.auth.identity import Principal
from web.knowledge.service import DocumentService


async def provide_document_service(me: Principal, request: Request) -> DocumentService:
    """The caller's tenant's documents (with the process's broker, for ingestion jobs)."""
    return DocumentService(me, getattr(request.app.state, "bus", None))
