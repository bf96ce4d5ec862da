"""Retrieval quality on a small set (tests/helpers/retrieval_set.py): twelve documents uploaded
and ingested through the real API, thirty questions, recall@5 of vector-only, keyword-only
and hybrid search printed (run with `-s` to read it; docs/knowledge.md "Quality" has the last
figures). Floors, not timings, are asserted: a change that breaks a mode fails here."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from helpers.api import ApiUser, register
from helpers.fake_llm import FakeLLM
from helpers.knowledge import search, uploaded
from helpers.platform import Platform, running_platform
from helpers.retrieval_set import DOCUMENTS, QUESTIONS

MODES = ("vector", "keyword", "hybrid")
FLOORS = {"vector": 0.7, "keyword": 0.9, "hybrid": 0.9}
"""Recall@5 below which a mode is broken (measured: see docs/knowledge.md "Quality")."""


@pytest.fixture(scope="module", name="platform")
async def quality_platform(database: str, fake_llm: FakeLLM) -> AsyncIterator[Platform]:
    async with running_platform(fake_llm, 1) as running:
        yield running


async def _answers(admin: ApiUser, ids: dict[str, str]) -> dict[int, tuple[str, int]]:
    """Question number -> (document id, chunk index) of the chunk holding its phrase."""
    chunks: dict[str, list[str]] = {}
    for name, document_id in ids.items():
        document = (await admin.get(f"/api/v1/documents/{document_id}")).json()
        assert document["chunk_count"] <= 5, "the preview must hold every chunk of the set"
        chunks[name] = [c["content"] for c in document["preview"]]
    answers = {}
    for number, (_, name, phrase) in enumerate(QUESTIONS):
        holding = [i for i, text in enumerate(chunks[name]) if phrase in text]
        assert holding, f"no chunk of {name} holds {phrase!r}"
        answers[number] = (ids[name], holding[-1])
    return answers


async def test_recall_at_5_of_vector_keyword_and_hybrid_search(platform: Platform) -> None:
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        admin = await register(client, "Retrieval set")
        ids = {name: (await uploaded(admin, name, text.encode()))["id"] for name, text in DOCUMENTS.items()}
        counts = [(await admin.get(f"/api/v1/documents/{i}")).json()["chunk_count"] for i in ids.values()]
        assert sum(counts) > len(DOCUMENTS)  # some documents span several chunks
        answers = await _answers(admin, ids)
        recall = {}
        for mode in MODES:
            found = 0
            for number, (question, _, _) in enumerate(QUESTIONS):
                hits = await search(admin, question, mode=mode, limit=5)
                found += answers[number] in [(h["document_id"], h["chunk_index"]) for h in hits]
            recall[mode] = found / len(QUESTIONS)
    print(f"\nrecall@5 over {len(QUESTIONS)} questions, {len(DOCUMENTS)} documents (demo embeddings):")
    for mode in MODES:
        print(f"  {mode:8} {recall[mode]:.2f}")
    for mode in MODES:
        assert recall[mode] >= FLOORS[mode], recall
