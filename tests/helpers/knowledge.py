"""Documents for knowledge tests: files of every supported type made in memory, and uploads
through the real API that wait for ingestion to end."""

from __future__ import annotations

import io
from typing import Any

from helpers.api import ApiUser
from helpers.eventually import eventually


def pdf_of(text: str) -> bytes:
    """A real one-page PDF (fpdf2) holding `text`."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def docx_of(text: str) -> bytes:
    """A real DOCX (python-docx) with `text` as a paragraph and in a table cell."""
    import docx

    document = docx.Document()
    document.add_heading("Handbook", level=1)
    document.add_paragraph(text)
    document.add_table(rows=1, cols=1).rows[0].cells[0].text = "table cell"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


async def upload(
    who: ApiUser,
    filename: str,
    content: bytes,
    agent_id: str | None = None,
    mime: str = "application/octet-stream",
) -> Any:
    """POST /documents (multipart); returns the response."""
    data = {"agent_id": agent_id} if agent_id else None
    return await who.post("/api/v1/documents", files={"file": (filename, content, mime)}, data=data)


async def ingested(who: ApiUser, document_id: str, timeout: float = 60) -> dict[str, Any]:
    """The document once its ingestion ended (completed or failed)."""

    async def probe() -> dict[str, Any]:
        return (await who.get(f"/api/v1/documents/{document_id}")).json()

    return await eventually(
        probe,
        lambda d: d.get("upload_status") in ("completed", "failed"),
        f"document {document_id} ingested",
        timeout,
    )


async def uploaded(
    who: ApiUser, filename: str, content: bytes, agent_id: str | None = None
) -> dict[str, Any]:
    """Upload and wait until ingested; fails unless it completed."""
    r = await upload(who, filename, content, agent_id)
    assert r.status_code in (200, 201), r.text
    document = await ingested(who, r.json()["id"])
    assert document["upload_status"] == "completed", document
    return document


async def search(who: ApiUser, q: str, **params: Any) -> list[dict[str, Any]]:
    """GET /knowledge/search hits."""
    r = await who.get("/api/v1/knowledge/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return r.json()["hits"]
