"""LLM providers: a streaming `Provider` protocol, OpenAI-compatible and demo implementations,
structured output, and `provider_for` to pick one by name."""

from __future__ import annotations

import openai

from actors.providers.base import (
    ChatMessage,
    Embedding,
    Provider,
    ProviderError,
    StreamItem,
    ToolCallRequest,
    ToolSpec,
    TransientProviderError,
    count_prompt_tokens,
    count_tokens,
)
from actors.providers.demo import DemoProvider, demo_embedding, demo_reply, demo_structured
from actors.providers.openai_compat import OpenAIProvider, make_client, make_endpoint, map_error
from actors.providers.structured import StructuredResult, model_from_schema, structured


def provider_for(
    name: str | None,
    base_url: str | None = None,
    api_key: str | None = None,
    *,
    client: openai.AsyncOpenAI | None = None,
) -> Provider:
    """The provider called `name`: `demo` (or no name and no base URL) needs nothing; any
    other name is an OpenAI-compatible endpoint at `base_url` (the SDK default when None)."""
    if name == "demo" or (name is None and base_url is None and client is None):
        return DemoProvider()
    return OpenAIProvider(base_url, api_key, name=name or "openai", client=client)


__all__ = [
    "ChatMessage",
    "DemoProvider",
    "Embedding",
    "OpenAIProvider",
    "Provider",
    "ProviderError",
    "StreamItem",
    "StructuredResult",
    "ToolCallRequest",
    "ToolSpec",
    "TransientProviderError",
    "count_prompt_tokens",
    "count_tokens",
    "demo_embedding",
    "demo_reply",
    "demo_structured",
    "make_client",
    "make_endpoint",
    "map_error",
    "model_from_schema",
    "provider_for",
    "structured",
]
