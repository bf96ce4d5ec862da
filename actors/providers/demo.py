"""The built-in `demo` provider: no key, no network, a deterministic streamed reply."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from actors.providers.base import (
    ChatMessage,
    Embedding,
    StreamItem,
    ToolCallRequest,
    ToolSpec,
    count_prompt_tokens,
    count_tokens,
    last_user_text,
)
from runtime.embeddings import DEMO_DIMENSIONS, demo_embedding
from runtime.messages import Usage

PARAGRAPH = (
    "This is the Hirebuddha demo model: it answers offline, without an API key, so the "
    "platform runs end to end on a laptop. Configure a provider base URL and key to talk "
    "to a real model."
)
_TOKEN = re.compile(r"\S+\s*")


def demo_reply(messages: Sequence[ChatMessage]) -> str:
    """The reply the demo gives to `messages` (a pure function of the last user message, or,
    right after a tool ran, of what the tool answered)."""
    if messages and messages[-1].get("role") == "tool":
        return f"Here is what I found:\n\n{messages[-1].get('content') or ''}"
    said = " ".join(last_user_text(messages).split())
    return f"You said: {said}\n\n{PARAGRAPH}"


def demo_tool_call(messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]) -> ToolCallRequest | None:
    """The call the demo makes when offered `tools` and the last message is the user's: the
    tool named in that message, else the first one, with the user's words in each required
    string parameter (the first string parameter when none is required). None after a tool
    result: then the demo answers."""
    if not tools or not messages or messages[-1].get("role") != "user":
        return None
    text = " ".join(last_user_text(messages).split())
    functions = [t["function"] for t in tools]
    chosen = next((f for f in functions if f["name"] in text), functions[0])
    properties = (chosen.get("parameters") or {}).get("properties") or {}
    strings = [k for k, v in properties.items() if v.get("type") == "string"]
    required = [k for k in (chosen.get("parameters") or {}).get("required") or [] if k in strings]
    arguments = {k: text for k in (required or strings[:1])}
    return ToolCallRequest("call_demo", chosen["name"], json.dumps(arguments))


EMBEDDING_DIMENSIONS = DEMO_DIMENSIONS
"""The `demo-embed` dimension (runtime/embeddings.py, where `demo_embedding` lives so web
embeds search queries the same way)."""


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
        tools: Sequence[ToolSpec] | None = None,
    ) -> AsyncIterator[StreamItem]:
        """Yield the reply's words (or a tool call, see `demo_tool_call`), then `Usage`
        (one token per word, as it was sent)."""
        call = demo_tool_call(messages, tools or ())
        if call is not None:
            yield call
            yield Usage(
                input_tokens=count_prompt_tokens(messages), output_tokens=count_tokens(call.arguments)
            )
            return
        tokens = _TOKEN.findall(demo_reply(messages))[: max_tokens or None]
        for index, token in enumerate(tokens):
            if index and self.delay_s:
                await asyncio.sleep(self.delay_s)
            if self._closed.is_set():
                return
            yield token
        yield Usage(input_tokens=count_prompt_tokens(messages), output_tokens=len(tokens))

    async def embed(
        self, texts: list[str], model: str = "demo-embed", dimensions: int | None = None
    ) -> Embedding:
        """`demo_embedding` of each text; tokens counted as for chat."""
        size = dimensions or EMBEDDING_DIMENSIONS
        return Embedding([demo_embedding(t, size) for t in texts], sum(count_tokens(t) for t in texts))

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
