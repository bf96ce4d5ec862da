"""Which provider answers an agent, and the prompt it gets (history bounded by tokens)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import openai

from actors.providers import (
    ChatMessage,
    DemoProvider,
    OpenAIProvider,
    Provider,
    ProviderError,
    count_tokens,
    make_client,
)
from runtime import db, provider_config
from runtime.settings import Settings

HISTORY_TOKEN_BUDGET = 6000
"""Approximate tokens of history sent with each call (newest turns kept first)."""


@dataclass
class Resolved:
    """A provider for one call, plus the raw client when structured output needs it."""

    provider: Provider
    client: openai.AsyncOpenAI | None
    model: str
    key: str = "demo"
    """The endpoint's circuit-breaker key: provider name plus base URL (never the API key)."""


class Providers:
    """Picks and builds providers; one pooled AsyncOpenAI client per endpoint per process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._clients: dict[tuple[str | None, str | None], openai.AsyncOpenAI] = {}

    async def _endpoint(self) -> tuple[str | None, str | None]:
        # Read at every call so an admin's key change applies without restarting actors.
        async with db.scope(system=True):
            stored = await provider_config.load("openai")
        return (
            stored.base_url or self._settings.openai_base_url,
            stored.api_key or self._settings.openai_api_key,
        )

    def _client(self, base_url: str | None, api_key: str | None) -> openai.AsyncOpenAI:
        key = (base_url, api_key)
        if key not in self._clients:
            self._clients[key] = make_client(base_url, api_key)
        return self._clients[key]

    async def resolve(self, llm_config: dict[str, Any]) -> Resolved:
        """The provider named by `llm_config` (`openai` by default, `demo` if unconfigured)."""
        name = llm_config.get("provider")
        model = str(llm_config.get("model") or "demo")
        if name not in (None, "demo", "openai"):
            raise ProviderError("unknown_provider", f"Unknown provider {name!r}.")
        if name != "demo":
            base_url, api_key = await self._endpoint()
            if base_url or api_key:
                client = self._client(base_url, api_key)
                provider = OpenAIProvider(name="openai", client=client)
                return Resolved(provider, client, model, key=f"openai@{base_url or 'default'}")
        return Resolved(DemoProvider(), None, model)

    async def close(self) -> None:
        """Close every pooled client (process shutdown)."""
        for client in self._clients.values():
            await client.close()
        self._clients.clear()


def prompt(
    role: str, turns: Sequence[dict[str, str]], budget: int = HISTORY_TOKEN_BUDGET
) -> list[ChatMessage]:
    """System prompt plus the newest turns that fit `budget` (turns come newest first).

    The newest turn (the user's message) is always kept, whatever its size.
    """
    kept: list[ChatMessage] = []
    used = 0
    for turn in turns:
        cost = count_tokens(turn["content"]) + 4
        if kept and used + cost > budget:
            break
        kept.append({"role": turn["role"], "content": turn["content"]})
        used += cost
    kept.reverse()
    return [{"role": "system", "content": role}, *kept]
