"""The built-in `demo` provider: no key, no network, a deterministic streamed reply."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from collections.abc import AsyncIterator, Sequence

from actors.providers.base import (
    ChatMessage,
    Embedding,
    StreamItem,
    count_prompt_tokens,
    count_tokens,
    last_user_text,
)
from runtime.messages import Usage

PARAGRAPH = (
    "This is the Hirebuddha demo model: it answers offline, without an API key, so the "
    "platform runs end to end on a laptop. Configure a provider base URL and key to talk "
    "to a real model."
)
_TOKEN = re.compile(r"\S+\s*")


def demo_reply(messages: Sequence[ChatMessage]) -> str:
    """The reply the demo gives to `messages` (a pure function of the last user message)."""
    said = " ".join(last_user_text(messages).split())
    return f"You said: {said}\n\n{PARAGRAPH}"


EMBEDDING_DIMENSIONS = 16


def demo_embedding(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """A deterministic unit vector of `text` (a pure function of it, offline): hash-derived,
    so equal texts embed equally and different texts (almost surely) differently."""
    raw = b""
    counter = 0
    while len(raw) < dimensions * 4:
        raw += hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
    values = [int.from_bytes(raw[i * 4 : i * 4 + 4], "big") / 2**31 - 1.0 for i in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [round(v / norm, 6) for v in values]


class DemoProvider:
    """Streams `demo_reply` word by word, `delay_s` apart, and reports its usage."""

    name = "demo"

    def __init__(self, delay_s: float = 0.005) -> None:
        self.delay_s = delay_s
        self._closed = asyncio.Event()

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        model: str = "demo",
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[StreamItem]:
        """Yield the reply's words, then `Usage` (one token per word, as it was sent)."""
        tokens = _TOKEN.findall(demo_reply(messages))[: max_tokens or None]
        for index, token in enumerate(tokens):
            if index and self.delay_s:
                await asyncio.sleep(self.delay_s)
            if self._closed.is_set():
                return
            yield token
        yield Usage(input_tokens=count_prompt_tokens(messages), output_tokens=len(tokens))

    async def embed(self, texts: list[str], model: str = "demo-embed") -> Embedding:
        """`demo_embedding` of each text; tokens counted as for chat."""
        return Embedding([demo_embedding(t) for t in texts], sum(count_tokens(t) for t in texts))

    async def aclose(self) -> None:
        """Stop the stream before its next token."""
        self._closed.set()
