"""The provider contract, its errors, and the fallback token count."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol, runtime_checkable

import msgspec

from runtime.errors import CodedError
from runtime.messages import Usage
from runtime.supervision import TransientError

ChatMessage = dict[str, Any]
"""An OpenAI chat message: `{"role": "user", "content": "..."}`."""


class ToolCallRequest(msgspec.Struct, frozen=True):
    """A function call the model asked for (OpenAI function calling); `arguments` is the
    model's JSON text, unparsed (it may be invalid: the tool loop says so to the model)."""

    id: str
    name: str
    arguments: str


StreamItem = str | ToolCallRequest | Usage
"""A provider stream yields text deltas (str), then the tool calls the model asked for
(`ToolCallRequest`, only when it was offered `tools`), then exactly one final `Usage`."""

ToolSpec = dict[str, Any]
"""An OpenAI `tools` entry: `{"type": "function", "function": {name, description, parameters}}`."""


class Embedding(msgspec.Struct, frozen=True):
    """Vectors of some texts (in their order) and the tokens the vendor counted for them."""

    vectors: list[list[float]]
    tokens: int


class ProviderError(CodedError):
    """A permanent provider failure (bad request, bad key, unknown model): do not retry.

    `status` is the provider's HTTP status, when it answered one."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(code, message, status)


class TransientProviderError(TransientError, ProviderError):
    """A provider failure worth retrying: connection error, timeout, 429 or 5xx."""


@runtime_checkable
class Provider(Protocol):
    """An LLM that streams a chat reply."""

    name: str

    def stream(
        self,
        messages: Sequence[ChatMessage],
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
        tools: Sequence[ToolSpec] | None = None,
    ) -> AsyncIterator[StreamItem]:
        """Yield text deltas as they arrive, the tool calls asked for, then one `Usage` (its
        `counted` flag set when the provider reported none and we counted). Raises `ProviderError` or
        `TransientProviderError`. After `aclose()` the iterator ends quietly."""
        ...

    async def aclose(self) -> None:
        """Close any open HTTP stream at once (cancel); safe to call twice or concurrently."""
        ...


_PIECE = re.compile(r"\w+|[^\w\s]")
MESSAGE_OVERHEAD = 4
"""Tokens OpenAI charges per chat message on top of its content (role, separators)."""


def count_tokens(text: str) -> int:
    """Approximate tokens as words plus punctuation marks (`\\w+` runs and single symbols).

    Used only when a provider reports no usage. It is close for English prose (BPE
    tokenizers average about one token per short word) and deterministic, which is what
    metering needs; the ledger entry records that the figure was counted.
    """
    return len(_PIECE.findall(text))


def count_prompt_tokens(messages: Sequence[ChatMessage]) -> int:
    """Approximate input tokens of a chat request (content plus per-message overhead)."""
    total = 0
    for message in messages:
        content = message.get("content") or ""
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        for call in message.get("tool_calls") or ():
            content = f"{content} {call['function']['name']} {call['function']['arguments']}"
        total += count_tokens(str(content)) + MESSAGE_OVERHEAD
    return total


def last_user_text(messages: Sequence[ChatMessage]) -> str:
    """Content of the last user message, or ''."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return str(message.get("content") or "")
    return ""
