"""Embedding tokens of an ingested document reach the ledger as `embedding_tokens` entries,
priced at the embedding model's rate, once (a real ledger process beside web and actors)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from helpers.api import register
from helpers.eventually import eventually
from helpers.fake_llm import FakeLLM
from helpers.knowledge import uploaded
from helpers.ledger import entries_of, make_rate
from helpers.platform import Platform, platform_with_ledger


@pytest.fixture(scope="module", name="platform")
async def billing_platform(database: str, fake_llm: FakeLLM) -> AsyncIterator[Platform]:
    await make_rate("demo-embed", "embedding_tokens", cost="0.01", billing="0.02", unit="1m_tokens")
    async with platform_with_ledger(fake_llm) as running:
        yield running


async def test_an_ingested_documents_embedding_tokens_are_billed_once(platform: Platform) -> None:
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        admin = await register(client, "Knowledge billing")
        text = " ".join(f"word{i}" for i in range(400))  # three chunks
        document = await uploaded(admin, "billed.txt", text.encode())
    tenant = uuid.UUID(admin.tenant_id)
    entries = await eventually(lambda: entries_of(tenant), bool, "the embedding entry", timeout=30)
    [entry] = entries
    assert (entry.model, entry.resource_type) == ("demo-embed", "embedding_tokens")
    assert entry.quantity == Decimal(document["embedding_tokens"]) and entry.quantity > 400
    assert entry.execution_id == uuid.UUID(document["id"])
    assert entry.tenant_cost == (entry.quantity * Decimal("0.02") / 1_000_000).quantize(Decimal("0.000001"))
