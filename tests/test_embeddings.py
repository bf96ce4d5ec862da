"""Embeddings: vendors embed through `/v1/embeddings` (the fake LLM over real HTTP), the
`demo` provider offline with the same deterministic vectors, the catalog picks the provider,
and the ledger prices `embedding_tokens` as a resource type of its own."""

from __future__ import annotations

import math
import uuid
from decimal import Decimal

import pytest

from actors.llm import Providers
from actors.providers import (
    DemoProvider,
    OpenAIProvider,
    ProviderError,
    TransientProviderError,
    demo_embedding,
)
from helpers.catalog import catalog_model
from helpers.fake_llm import FakeLLM
from helpers.ledger import entries_of, make_rate, make_tenant
from ledger import service
from runtime.messages import UsageRecorded
from runtime.settings import get_settings

TEXTS = ["senior python engineer", "pastry chef in Lyon", "senior python engineer"]


async def test_a_vendor_embeds_deterministically_over_http(fake_llm: FakeLLM) -> None:
    provider = OpenAIProvider(fake_llm.base_url, "test-key", name="vendor")
    try:
        result = await provider.embed(TEXTS, model="fake-embed")
        again = await provider.embed(TEXTS[:1], model="fake-embed")
        with pytest.raises(TransientProviderError) as failed:
            await provider.embed(["boom [[fail:503]]"], model="fake-embed")
    finally:
        await provider.aclose()
    first, second, third = result.vectors
    assert first == third == again.vectors[0] and first != second
    assert all(math.isclose(sum(v * v for v in vec), 1.0, abs_tol=1e-4) for vec in result.vectors)
    assert result.tokens == sum(len(t.split()) for t in TEXTS)
    assert failed.value.status == 503


async def test_the_demo_provider_embeds_offline_the_same_way(fake_llm: FakeLLM) -> None:
    demo = await DemoProvider().embed(TEXTS)
    assert demo.vectors == [demo_embedding(t) for t in TEXTS]
    vendor = OpenAIProvider(fake_llm.base_url, "k", name="vendor")
    try:
        assert (await vendor.embed(TEXTS, model="x")).vectors == demo.vectors
    finally:
        await vendor.aclose()


async def test_the_catalog_picks_the_embedding_provider_and_refuses_chat_models(database: str) -> None:
    providers = Providers(get_settings())
    try:
        result, provider = await providers.embed("demo-embed", ["hello world"])
        assert provider == "demo" and result.vectors == [demo_embedding("hello world")] and result.tokens == 2
        with pytest.raises(ProviderError) as refused:
            await providers.embed("demo-1", ["hello"])
        assert refused.value.code == "unknown_model"
    finally:
        await providers.close()


async def test_embedding_tokens_are_priced_as_their_own_resource_type(database: str) -> None:
    model = await catalog_model(f"emb-{uuid.uuid4().hex[:6]}", model_type="embedding")
    await make_rate(model, "embedding_tokens", cost="0.01", billing="0.02")
    tenant = await make_tenant()
    event = UsageRecorded(
        tenant_id=tenant,
        execution_id=uuid.uuid4(),
        agent_id=uuid.uuid4(),
        model=model,
        provider="demo",
        input_tokens=0,
        output_tokens=0,
        embedding_tokens=12_345,
    )
    result = await service.record_batch([event])
    assert not result.rejected, result.rejected
    [entry] = await entries_of(tenant)
    assert (entry.resource_type, entry.quantity) == ("embedding_tokens", Decimal("12345"))
    assert entry.tenant_cost == Decimal("0.246900") and entry.platform_cost == Decimal("0.123450")


async def test_knowledge_embeds_through_a_vendor_at_the_chunk_dimension(
    database: str, fake_llm: FakeLLM
) -> None:
    from runtime import db, embeddings, knowledge, provider_config

    name = f"vendor{uuid.uuid4().hex[:6]}"
    model = await catalog_model(f"emb-{name}", name, model_type="embedding")
    async with db.scope(system=True):
        await provider_config.save(name, "test-key", fake_llm.base_url)
    try:
        embedded = await embeddings.embed(model, TEXTS, knowledge.DIMENSIONS)
        assert embedded.provider == name
        assert embedded.vectors == [demo_embedding(t, knowledge.DIMENSIONS) for t in TEXTS]
        with pytest.raises(embeddings.EmbeddingError) as failed:
            await embeddings.embed(model, ["boom [[fail:503]]"])
        assert failed.value.transient and failed.value.code == "provider_error"
        with pytest.raises(embeddings.EmbeddingError) as refused:
            await embeddings.embed("demo-1", ["a chat model"])
        assert refused.value.code == "unknown_model" and not refused.value.transient
    finally:
        async with db.scope(system=True):
            await provider_config.delete(name)
