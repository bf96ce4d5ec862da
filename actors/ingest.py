"""Document ingestion, consumed from the durable documents queue (docs/knowledge.md "Ingestion").

One `DocumentIngest` message is one document: read its bytes, parse them by type (pypdf,
python-docx, the standard library's HTML parser), cut the text into overlapping chunks,
embed the chunks through the platform's embedding model, bill the embedding tokens, and
store the chunks with `upload_status = completed` in one transaction, or `failed` with the
reason. Parsing and chunking run in a worker thread, so a large PDF never stalls the
process's event loop (where the chat actors stream); embeddings go in batches.

Idempotent: a redelivered message re-ingests from scratch (the chunks are replaced in the
same transaction that marks the document completed) and bills under the same event id.
"""

from __future__ import annotations

import asyncio
import hashlib
import html.parser
import io
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aio_pika
import msgspec
from faststream.rabbit import RabbitBroker

from runtime import db, embeddings, knowledge
from runtime.broker import Topology
from runtime.messages import DocumentIngest, UsageRecorded, decode
from runtime.publishing import publish_usage
from runtime.settings import get_settings
from runtime.supervision import SupervisionStrategy

log = logging.getLogger("hirebuddha.actors")

CHUNK_WORDS = 160
"""Words per chunk (about 200 tokens of English)."""
OVERLAP_WORDS = 32
"""Words a chunk repeats from the end of the one before, so a sentence cut at a boundary is
whole in one of the two."""
EMBED_BATCH = 64
"""Chunks per embeddings request."""
EMBED_ATTEMPTS = 3
"""Calls of one batch when the provider fails transiently, before the document fails."""
INGEST_NAMESPACE = uuid.UUID("6b1f3a52-93a4-4d8e-9f0c-2f7f2d1c9a11")
NO_AGENT = uuid.UUID(int=0)
"""`agent_id` of ingestion usage events: no agent spent them."""


class IngestError(Exception):
    """The document cannot be ingested; the message is stored as its `error`."""


# --- parsing (runs in a worker thread) --------------------------------------------------


class _HtmlText(html.parser.HTMLParser):
    """The visible text of an HTML page, block elements on lines of their own."""

    SKIP = {"script", "style", "noscript", "template", "head"}
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP and tag != "head":
            self.skipping += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and tag != "head" and self.skipping:
            self.skipping -= 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


_MD_SYNTAX = [
    (re.compile(r"```[^\n]*"), ""),
    (re.compile(r"!?\[([^\]\n]*)\]\([^)\s]*\)"), r"\1"),
    (re.compile(r"^\s{0,3}(#{1,6}|>|[-*+]|\d+\.)\s+", re.MULTILINE), ""),
    (re.compile(r"(\*\*|__|`)"), ""),
]


def extract_text(data: bytes, file_type: str) -> str:
    """The text of a document of `file_type` (see `runtime.documents.sniff`)."""
    if file_type == "pdf":
        import pypdf

        try:
            reader = pypdf.PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                raise IngestError("The PDF is encrypted.")
            return "\n".join(page.extract_text() or "" for page in reader.pages)
        except IngestError:
            raise
        except Exception as exc:  # pypdf raises many kinds on a damaged file
            raise IngestError(f"The PDF could not be read: {type(exc).__name__}: {exc}"[:500]) from exc
    if file_type == "docx":
        import docx

        try:
            document = docx.Document(io.BytesIO(data))
        except Exception as exc:
            raise IngestError(f"The DOCX could not be read: {type(exc).__name__}: {exc}"[:500]) from exc
        lines = [p.text for p in document.paragraphs]
        for table in document.tables:
            lines += [" | ".join(cell.text for cell in row.cells) for row in table.rows]
        return "\n".join(lines)
    text = data.decode("utf-8-sig", errors="replace")
    if file_type == "html":
        parser = _HtmlText()
        parser.feed(text)
        parser.close()
        return "".join(parser.parts)
    if file_type == "markdown":
        for pattern, replacement in _MD_SYNTAX:
            text = pattern.sub(replacement, text)
    return text


def chunk_text(text: str, words: int = CHUNK_WORDS, overlap: int = OVERLAP_WORDS) -> list[str]:
    """`text` cut into chunks of `words` words, each repeating `overlap` words of the last."""
    tokens = text.split()
    if not tokens:
        return []
    step = max(words - overlap, 1)
    chunks = []
    for start in range(0, len(tokens), step):
        chunks.append(" ".join(tokens[start : start + words]))
        if start + words >= len(tokens):
            break
    return chunks


def parse(data: bytes, file_type: str) -> list[str]:
    """The chunks of a document (blocking: call in a thread)."""
    chunks = chunk_text(extract_text(data, file_type))
    if not chunks:
        raise IngestError(
            "No text was found in the document (a scanned PDF needs OCR, which is not supported)."
        )
    return chunks


# --- the job ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestContext:
    """What ingestion needs of the actors process."""

    broker: RabbitBroker
    topo: Topology


async def _embed(model: str, chunks: list[str]) -> tuple[list[list[float]], int, str]:
    """Vectors of every chunk (batched, transient failures retried), their tokens, the provider."""
    vectors: list[list[float]] = []
    tokens, provider = 0, ""
    backoff = SupervisionStrategy()
    for start in range(0, len(chunks), EMBED_BATCH):
        batch = chunks[start : start + EMBED_BATCH]
        for attempt in range(1, EMBED_ATTEMPTS + 1):
            try:
                embedded = await embeddings.embed(model, batch, knowledge.DIMENSIONS)
                break
            except embeddings.EmbeddingError as exc:
                if not exc.transient or attempt == EMBED_ATTEMPTS:
                    raise IngestError(f"Embedding failed ({exc.code}): {exc.message}") from exc
                await asyncio.sleep(backoff.backoff(attempt))
        wrong = [len(v) for v in embedded.vectors if len(v) != knowledge.DIMENSIONS]
        if wrong or len(embedded.vectors) != len(batch):
            raise IngestError(
                f"The embedding model {model!r} returned vectors of {wrong[0] if wrong else '?'} "
                f"dimensions; chunks store {knowledge.DIMENSIONS} (docs/knowledge.md 'Dimensions')."
            )
        vectors += embedded.vectors
        tokens += embedded.tokens
        provider = embedded.provider
        await asyncio.sleep(0)  # let the chat actors of this process stream between batches
    return vectors, tokens, provider


async def _load(request: DocumentIngest) -> tuple[bytes, str, str] | None:
    async with db.scope(request.tenant_id):
        row = await db.fetchrow(
            "SELECT content, file_type, content_hash FROM documents WHERE id = $1 AND tenant_id = $2",
            request.document_id,
            request.tenant_id,
        )
    if row is None or row["content"] is None:
        return None
    return bytes(row["content"]), row["file_type"], row["content_hash"] or ""


async def _fail(request: DocumentIngest, reason: str) -> None:
    async with db.scope(request.tenant_id):
        await db.execute(
            "UPDATE documents SET upload_status = 'failed', error = $3, updated_at = now() "
            "WHERE id = $1 AND tenant_id = $2",
            request.document_id,
            request.tenant_id,
            reason[:2000],
        )


_INSERT_CHUNKS = """
INSERT INTO document_chunks (id, tenant_id, document_id, chunk_index, content, embedding, created_at)
SELECT gen_random_uuid(), $1, $2, c.i, c.content, c.vec::vector, now()
FROM unnest($3::int[], $4::text[], $5::text[]) AS c(i, content, vec)
"""


async def _store(
    request: DocumentIngest, chunks: list[str], vectors: list[list[float]], model: str, tokens: int
) -> bool:
    """Replace the document's chunks and mark it completed, in one transaction; False when the
    document was deleted meanwhile."""
    async with db.scope(request.tenant_id):
        updated = await db.execute(
            "UPDATE documents SET upload_status = 'completed', error = NULL, chunk_count = $3, "
            "embedding_model = $4, embedding_tokens = $5, updated_at = now() "
            "WHERE id = $1 AND tenant_id = $2",
            request.document_id,
            request.tenant_id,
            len(chunks),
            model,
            tokens,
        )
        if updated == "UPDATE 0":
            return False
        await db.execute(
            "DELETE FROM document_chunks WHERE document_id = $1 AND tenant_id = $2",
            request.document_id,
            request.tenant_id,
        )
        await db.execute(
            _INSERT_CHUNKS,
            request.tenant_id,
            request.document_id,
            list(range(len(chunks))),
            [c.replace("\x00", "") for c in chunks],
            [knowledge.vector_literal(v) for v in vectors],
        )
    return True


async def ingest(ctx: IngestContext, request: DocumentIngest) -> str:
    """Ingest one document; returns its final status (`completed`, `failed` or `gone`)."""
    loaded = await _load(request)
    if loaded is None:
        return "gone"
    data, file_type, content_hash = loaded
    model = get_settings().knowledge.embedding_model
    try:
        chunks = await asyncio.to_thread(parse, data, file_type)
        vectors, tokens, provider = await _embed(model, chunks)
    except IngestError as exc:
        await _fail(request, str(exc))
        return "failed"
    # Billed before the chunks are stored, under an id fixed by the document and its content:
    # a crash in between re-ingests on redelivery and the ledger prices the event once.
    digest = content_hash or hashlib.sha256(data).hexdigest()
    await publish_usage(
        ctx.broker,
        ctx.topo,
        UsageRecorded(
            event_id=uuid.uuid5(INGEST_NAMESPACE, f"{request.document_id}:{digest}"),
            tenant_id=request.tenant_id,
            execution_id=request.document_id,
            agent_id=NO_AGENT,
            model=model,
            provider=provider,
            input_tokens=0,
            output_tokens=0,
            embedding_tokens=tokens,
        ),
    )
    return "completed" if await _store(request, chunks, vectors, model, tokens) else "gone"


def consumer(ctx: IngestContext) -> Callable[[aio_pika.abc.AbstractIncomingMessage], Awaitable[None]]:
    """The documents queue's callback for this process."""

    async def on_document(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        try:
            request = decode(message.body, DocumentIngest)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.error("dropping a malformed document ingest request to the dead letters")
            await message.reject(requeue=False)  # the queue dead-letters it (x-death)
            return
        try:
            status = await ingest(ctx, request)
        except Exception as exc:
            log.exception("document %s: ingestion failed unexpectedly", request.document_id)
            try:
                await _fail(request, f"Ingestion failed unexpectedly: {type(exc).__name__}")
            except Exception:
                log.exception("document %s: could not record the failure", request.document_id)
                await message.nack(requeue=True)  # bounded by the queue's delivery limit
                return
            status = "failed"
        log.info("document %s: %s", request.document_id, status)
        await message.ack()

    return on_document
