"""The built-in `demo` provider: no key, no network, a deterministic streamed reply."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

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


def _labelled(text: str, name: str) -> str | None:
    """The value of a `Name: value` line of the prompt (case-insensitive), if there is one."""
    pattern = re.compile(
        rf"^[ \t]*{re.escape(name).replace('_', '[ _]')}[ \t]*:[ \t]*(\S.*?)[ \t]*$",
        re.IGNORECASE | re.MULTILINE,
    )
    found = pattern.search(text)
    return found.group(1) if found else None


def _fill(schema: dict[str, Any], name: str, text: str, seed: str) -> Any:
    digest = int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "big")
    if "enum" in schema and schema["enum"]:
        return schema["enum"][digest % len(schema["enum"])]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind in ("integer", "number"):
        low = int(schema.get("minimum", 0))
        high = int(schema.get("maximum", low + 100))
        value = low + digest % (high - low + 1)
        return value if kind == "integer" else float(value)
    if kind == "boolean":
        return digest % 2 == 0
    if kind == "array":
        given = _labelled(text, name)
        items = _listed(given) if given else []
        if not items:
            tail = text.strip().split("\n\n")[-1]  # the prompt's last paragraph: what is asked about
            words = [w for w in re.findall(r"[A-Za-z][A-Za-z+#.-]{3,}", tail) if w.lower() not in _STOP]
            items = (
                [words[(digest >> (8 * i)) % len(words)] for i in range(2)] if words else [f"{name} (demo)"]
            )
        sub = schema.get("items") or {"type": "string"}
        if sub.get("type", "string") == "string":
            return list(dict.fromkeys(items))[:3]
        return [_fill(sub, f"{name}.{i}", text, seed) for i in range(2)]
    if kind == "object" or "properties" in schema:
        return demo_object(schema, text, f"{seed}:{name}")
    return _labelled(text, name) or f"{name} (demo)"


def _listed(given: str) -> list[str]:
    """`a, b` or a JSON list `["a", "b"]` (a placeholder of a list renders as JSON)."""
    if given.startswith("["):
        try:
            parsed = json.loads(given)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [str(p) for p in parsed if str(p).strip()]
    return [part.strip() for part in given.split(",") if part.strip()]


_STOP = {"this", "that", "with", "from", "your", "have", "will", "candidate", "profile", "role", "json"}


def demo_object(schema: dict[str, Any], text: str, seed: str | None = None) -> dict[str, Any]:
    """A deterministic object valid against `schema` (the subset `actors.providers.structured`
    supports): a string property takes the prompt's `Name: value` line when there is one,
    numbers fall inside `minimum`/`maximum`, arrays of strings come from a `Name: a, b`
    line or from the prompt's words. A pure function of the prompt."""
    seed = text if seed is None else seed
    return {
        name: _fill(sub if isinstance(sub, dict) else {}, name, text, seed)
        for name, sub in (schema.get("properties") or {}).items()
    }


def demo_structured(messages: Sequence[ChatMessage], schema: dict[str, Any]) -> tuple[dict[str, Any], Usage]:
    """The demo provider's structured output: `demo_object` of the last user message, and
    its usage (prompt tokens, and the JSON's tokens as output)."""
    data = demo_object(schema, last_user_text(messages))
    return data, Usage(
        input_tokens=count_prompt_tokens(messages), output_tokens=count_tokens(json.dumps(data))
    )
