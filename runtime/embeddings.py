"""Embeddings for knowledge: the one path that embeds document chunks (actors) and search
queries (web and the actors' `knowledge_search` tool), so both sides get the same vectors.

The model is a catalog embedding model (`HB_EMBEDDING_MODEL`, default `demo-embed`): the
built-in `demo` provider embeds offline (`demo_embedding`); any other provider is called at
its OpenAI-compatible `/v1/embeddings` with `dimensions` set (docs/knowledge.md "Dimensions").
One pooled client per endpoint per process.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

import openai

from runtime import db, provider_config
from runtime.errors import CodedError
from runtime.settings import get_settings

DEMO_DIMENSIONS = 256
"""The `demo-embed` dimension, and the `vector(N)` of document chunks (runtime.knowledge)."""
_WORD = re.compile(r"[a-z0-9]+")


def demo_embedding(text: str, dimensions: int = DEMO_DIMENSIONS) -> list[float]:
    """A deterministic unit vector of `text`, offline: the hashed bag of its lowercased words
    (each word adds +-1 to one of `dimensions` buckets picked by its SHA-256), so equal texts
    embed equally and cosine similarity measures shared words, not meaning. A text without
    words embeds as the hash of its whole text, so it is still a unit vector."""
    values = [0.0] * dimensions
    words = _WORD.findall(text.lower()) or [text]
    for word in words:
        digest = hashlib.sha256(word.encode()).digest()
        bucket = int.from_bytes(digest[:4], "big") % dimensions
        values[bucket] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in values))
    if norm == 0:  # words cancelled out exactly: fall back on the first word's bucket
        digest = hashlib.sha256(words[0].encode()).digest()
        values[int.from_bytes(digest[:4], "big") % dimensions] = 1.0
        norm = 1.0
    return [round(v / norm, 6) for v in values]


class EmbeddingError(CodedError):
    """The texts could not be embedded; `transient` when a retry may work."""

    def __init__(self, code: str, message: str, transient: bool = False) -> None:
        super().__init__(code, message, 503 if transient else 400)
        self.transient = transient


@dataclass(frozen=True)
class Embedded:
    """Vectors of some texts, in their order; the tokens billed; the provider that made them."""

    vectors: list[list[float]]
    tokens: int
    provider: str


_clients: dict[tuple[str | None, str | None, tuple[tuple[str, str], ...]], openai.AsyncOpenAI] = {}


async def _provider_of(model: str) -> provider_config.ProviderConfig:
    async with db.scope(system=True):
        row = await db.fetchrow(
            "SELECT provider, model_type FROM ai_models WHERE model_key = $1 AND is_active", model
        )
        if row is None or row["model_type"] != "embedding":
            raise EmbeddingError(
                "unknown_model", f"{model!r} is not an active embedding model of the catalog."
            )
        if row["provider"] == provider_config.BUILTIN:
            return provider_config.ProviderConfig(name=provider_config.BUILTIN, base_url=None, api_key=None)
        stored = (await provider_config.load_all()).get(row["provider"]) or provider_config.ProviderConfig(
            name=row["provider"], base_url=None, api_key=None
        )
    settings = get_settings()
    config = provider_config.with_env(stored, settings.openai_base_url, settings.openai_api_key)
    if not config.configured:
        raise EmbeddingError("unknown_provider", f"Provider {config.name!r} is not configured.")
    return config


async def embed(model: str, texts: list[str], dimensions: int = DEMO_DIMENSIONS) -> Embedded:
    """Vectors of `dimensions` for `texts` from the catalog embedding model `model`."""
    config = await _provider_of(model)
    if config.name == provider_config.BUILTIN:
        vectors = [demo_embedding(t, dimensions) for t in texts]
        return Embedded(vectors, sum(len(_WORD.findall(t.lower())) for t in texts), config.name)
    key = (config.base_url, config.api_key, tuple(sorted(config.headers.items())))
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = openai.AsyncOpenAI(
            base_url=config.base_url,
            api_key=config.api_key or "unused",
            max_retries=0,
            timeout=60.0,
            default_headers=config.headers or None,
        )
    try:
        response = await client.embeddings.create(model=model, input=texts, dimensions=dimensions)
    except openai.APIConnectionError as exc:
        raise EmbeddingError("provider_unavailable", str(exc), transient=True) from exc
    except openai.APIStatusError as exc:
        transient = exc.status_code == 429 or exc.status_code >= 500
        raise EmbeddingError(
            "provider_error" if transient else "provider_rejected", exc.message, transient
        ) from exc
    vectors = [item.embedding for item in sorted(response.data, key=lambda d: d.index)]
    tokens = response.usage.prompt_tokens if response.usage else sum(len(t.split()) for t in texts)
    return Embedded(vectors, tokens, config.name)
