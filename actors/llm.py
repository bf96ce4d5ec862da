"""Which provider answers an agent, and the prompt it gets (history bounded by tokens).

Provider settings and the model catalog are read together and kept for `CONFIG_TTL_S`: they
are on the path to the first token, and an admin's change (a rotated key, a new provider)
applies within that time without restarting the actors.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import openai

from actors.providers import (
    ChatMessage,
    DemoProvider,
    Embedding,
    OpenAIProvider,
    Provider,
    ProviderError,
    count_tokens,
    make_client,
    make_endpoint,
)
from actors.providers.http import Endpoint
from runtime import db, provider_config
from runtime.provider_config import ProviderConfig
from runtime.settings import Settings

HISTORY_TOKEN_BUDGET = 6000
"""Tokens of history sent with a call when the model's context window is unknown."""
_ALWAYS_KNOWN = (None, provider_config.BUILTIN, provider_config.ENV_PROVIDER)
CONFIG_TTL_S = 2.0
"""How long provider settings and the catalog are reused before they are read again."""


@dataclass(frozen=True)
class CatalogModel:
    """What the actors need of a catalog model."""

    provider: str
    model_type: str
    context_window: int
    max_output_tokens: int
    is_active: bool


@dataclass
class Resolved:
    """A provider for one call, plus the raw client when structured output needs it."""

    provider: Provider
    client: openai.AsyncOpenAI | None
    model: str
    key: str = "demo"
    """The endpoint's circuit-breaker key: provider name plus base URL (never the API key)."""


@dataclass
class _Snapshot:
    providers: dict[str, ProviderConfig]
    catalog: dict[str, CatalogModel]
    read_at: float


async def _read_snapshot() -> _Snapshot:
    async with db.scope(system=True):
        providers = await provider_config.load_all()
        rows = await db.fetch(
            "SELECT model_key, provider, model_type, context_window, max_output_tokens, is_active "
            "FROM ai_models"
        )
    catalog = {
        r["model_key"]: CatalogModel(
            r["provider"], r["model_type"], r["context_window"], r["max_output_tokens"], r["is_active"]
        )
        for r in rows
    }
    return _Snapshot(providers, catalog, time.monotonic())


class Providers:
    """Picks and builds providers; one pooled AsyncOpenAI client per endpoint per process."""

    def __init__(self, settings: Settings, ttl_s: float = CONFIG_TTL_S) -> None:
        self._settings = settings
        self._ttl_s = ttl_s
        self._clients: dict[tuple[Any, ...], tuple[openai.AsyncOpenAI, Endpoint | None]] = {}
        self._snapshot: _Snapshot | None = None
        self._reading = asyncio.Lock()

    async def _current(self, older_than: float | None = None) -> _Snapshot:
        """The snapshot, read again when older than the TTL (or than `older_than`)."""
        snap = self._snapshot
        if (
            snap is not None
            and time.monotonic() - snap.read_at < self._ttl_s
            and snap.read_at > (older_than or 0)
        ):
            return snap
        async with self._reading:  # one read when many executions start at once
            snap = self._snapshot
            if (
                snap is None
                or time.monotonic() - snap.read_at >= self._ttl_s
                or snap.read_at <= (older_than or 0)
            ):
                snap = self._snapshot = await _read_snapshot()
        return snap

    async def _knowing(self, model: str, name: str | None) -> _Snapshot:
        """A snapshot that knows `model` and provider `name` if they exist: a model or provider
        added since the last read applies at once (only changes wait for the TTL)."""
        snap = await self._current()
        known = model in snap.catalog and (name in _ALWAYS_KNOWN or name in snap.providers)
        return snap if known else await self._current(older_than=snap.read_at)

    def _config(self, snap: _Snapshot, name: str) -> ProviderConfig:
        stored = snap.providers.get(name) or ProviderConfig(name=name, base_url=None, api_key=None)
        return provider_config.with_env(stored, self._settings.openai_base_url, self._settings.openai_api_key)

    def _client(self, config: ProviderConfig) -> tuple[openai.AsyncOpenAI, Endpoint | None]:
        """The SDK client (calls that are not streamed) and our streaming endpoint (kept
        connections) of a configuration; a changed key, URL or header makes new ones."""
        key = (config.base_url, config.api_key, tuple(sorted(config.headers.items())))
        if key not in self._clients:
            client = make_client(config.base_url, config.api_key, headers=config.headers)
            endpoint = make_endpoint(str(client.base_url), client.api_key, config.headers)
            self._clients[key] = (client, endpoint)
        return self._clients[key]

    async def model(self, model: str) -> CatalogModel | None:
        """The catalog entry of `model` (None: not in the catalog)."""
        return (await self._current()).catalog.get(model)

    async def resolve(self, llm_config: dict[str, Any]) -> Resolved:
        """The provider named by `llm_config` (else the catalog's provider of its model; else
        `openai` when configured, `demo` when not)."""
        model = str(llm_config.get("model") or "demo")
        snap = await self._knowing(model, llm_config.get("provider"))
        entry = snap.catalog.get(model)
        name = llm_config.get("provider") or (entry.provider if entry else None)
        if name == provider_config.BUILTIN:
            return Resolved(DemoProvider(), None, model)
        config = self._config(snap, str(name or provider_config.ENV_PROVIDER))
        if not config.configured:
            if name in (None, provider_config.ENV_PROVIDER):
                # No endpoint anywhere: a fresh install answers with the offline demo.
                return Resolved(DemoProvider(), None, model)
            raise ProviderError("unknown_provider", f"Provider {name!r} is not configured.")
        client, endpoint = self._client(config)
        provider = OpenAIProvider(name=config.name, client=client, endpoint=endpoint)
        return Resolved(provider, client, model, key=f"{config.name}@{config.base_url or 'default'}")

    async def embed(
        self, model: str, texts: list[str], dimensions: int | None = None
    ) -> tuple[Embedding, str]:
        """Vectors of `texts` from the catalog embedding model `model` (of `dimensions` when
        given), and the provider that made them (its usage is metered as `embedding_tokens`)."""
        entry = await self.model(model)
        if entry is None or entry.model_type != "embedding":
            raise ProviderError("unknown_model", f"{model!r} is not an embedding model of the catalog.")
        resolved = await self.resolve({"model": model, "provider": entry.provider})
        embedder = resolved.provider
        assert isinstance(embedder, DemoProvider | OpenAIProvider)
        return await embedder.embed(texts, model, dimensions), embedder.name

    async def history_budget(self, llm_config: dict[str, Any]) -> int:
        """Tokens of prompt the model can take: its context window minus the reply's room."""
        entry = await self.model(str(llm_config.get("model") or ""))
        if entry is None:
            return HISTORY_TOKEN_BUDGET
        reply = int(llm_config.get("max_tokens") or entry.max_output_tokens)
        return max(entry.context_window - reply, 1)

    async def close(self) -> None:
        """Close every pooled client (process shutdown)."""
        for client, endpoint in self._clients.values():
            if endpoint is not None:
                endpoint.close()
            await client.close()
        self._clients.clear()


def prompt(
    role: str, turns: Sequence[dict[str, str]], budget: int = HISTORY_TOKEN_BUDGET
) -> list[ChatMessage]:
    """System prompt plus the newest turns that fit `budget` (turns come newest first).

    The system prompt is always sent and counts against the budget first; the newest turn
    (the user's message) is always kept, whatever its size; older turns are dropped oldest
    first once the next one would not fit.
    """
    kept: list[ChatMessage] = []
    used = count_tokens(role) + 4
    for turn in turns:
        cost = count_tokens(turn["content"]) + 4
        if kept and used + cost > budget:
            break
        kept.append({"role": turn["role"], "content": turn["content"]})
        used += cost
    kept.reverse()
    return [{"role": "system", "content": role}, *kept]


def conversation_turns(encoded: str) -> list[dict[str, str]]:
    """The turns (newest first, as `prompt` takes them) of a JSON-encoded conversation.

    Anything unreadable becomes one user turn with the raw text, never an error: web wrote it.
    """
    try:
        messages = json.loads(encoded)
        turns = [{"role": str(m["role"]), "content": str(m["content"])} for m in messages]
    except (ValueError, TypeError, KeyError):
        return [{"role": "user", "content": encoded}]
    return list(reversed(turns)) or [{"role": "user", "content": ""}]
