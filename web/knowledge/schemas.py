"""Knowledge DTOs (docs/knowledge.md "API")."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec


class DocumentOut(msgspec.Struct):
    """A document; `error` says why ingestion failed (`upload_status: failed`)."""

    id: uuid.UUID
    filename: str
    file_type: str
    size_bytes: int
    upload_status: str
    error: str | None
    chunk_count: int
    embedding_tokens: int
    agent_ids: list[uuid.UUID]
    created_at: dt.datetime
    updated_at: dt.datetime


class ChunkOut(msgspec.Struct):
    chunk_index: int
    content: str


class DocumentDetail(DocumentOut):
    """A document with its first chunks (`preview`)."""

    preview: list[ChunkOut] = []


class SearchHit(msgspec.Struct):
    document_id: uuid.UUID
    filename: str
    chunk_index: int
    content: str
    score: float


class SearchOut(msgspec.Struct):
    query: str
    mode: str
    hits: list[SearchHit]


Mode = Literal["hybrid", "vector", "keyword"]
Query = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class AgentDocumentsIn(msgspec.Struct, forbid_unknown_fields=True):
    """The documents an agent may search (replaces the list)."""

    document_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=500)]
