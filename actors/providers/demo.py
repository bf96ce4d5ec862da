"""The built-in `demo` provider: no key, no network, a deterministic streamed reply."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence

from actors.providers.base import ChatMessage, StreamItem, count_prompt_tokens, last_user_text
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

    async def aclose(self) -> None:
        """Stop the stream before its next token."""
        self._closed.set()
