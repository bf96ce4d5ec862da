"""What an uploaded file is, judged by its bytes, never by its name (docs/knowledge.md).

web sniffs at upload (an unsupported file is refused there); the actors parse by the same
type at ingestion.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Literal

DocumentType = Literal["pdf", "docx", "html", "markdown", "text"]
TYPES: tuple[DocumentType, ...] = ("pdf", "docx", "html", "markdown", "text")

_HTML = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL)
_MARKDOWN = re.compile(
    r"^(#{1,6}\s+\S|\s*[-*+]\s+\S|\s*\d+\.\s+\S|```|>\s)|\[[^\]\n]+\]\([^)\s]+\)|\*\*[^*\n]+\*\*",
    re.MULTILINE,
)


def sniff(data: bytes) -> DocumentType | None:
    """The type of `data`, or None when it is none we read.

    PDF: the `%PDF-` signature. DOCX: a ZIP holding `word/document.xml`. Otherwise the bytes
    must be UTF-8 text without NUL: HTML when it opens with a doctype or an html, head or
    body tag; Markdown when it has Markdown syntax (a heading, a list, a fence, a quote, a
    link or bold text); plain text else.
    """
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return "docx" if "word/document.xml" in archive.namelist() else None
        except zipfile.BadZipFile:
            return None
    head = data[:65536]
    if b"\x00" in head:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if _HTML.match(head.removeprefix(b"\xef\xbb\xbf")):
        return "html"
    return "markdown" if _MARKDOWN.search(text[:65536]) else "text"
