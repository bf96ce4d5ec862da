"""Server-sent events of an OpenAI-compatible chat completion stream, parsed with msgspec.

The openai SDK builds a pydantic model per chunk (with `typing` introspection underneath);
at 50,000 tokens/s that was most of an actors process's CPU (issue 11). Here one chunk is
one msgspec decode into small Structs that hold only what we read: the delta texts, the
usage, and an in-band error.
"""

from __future__ import annotations

import msgspec


class FunctionDelta(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(msgspec.Struct):
    """A piece of a tool call: the first names it (`id`, `function.name`), later ones add
    to its `arguments`; `index` says which call of the message it belongs to."""

    index: int = 0
    id: str | None = None
    function: FunctionDelta | None = None


class Delta(msgspec.Struct):
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class Choice(msgspec.Struct):
    delta: Delta | None = None


class ChunkUsage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Chunk(msgspec.Struct):
    """One `chat.completion.chunk`; unknown fields are skipped by the decoder."""

    choices: list[Choice] = []
    usage: ChunkUsage | None = None
    error: msgspec.Raw | None = None
    """An error reported inside the stream (some gateways do this after a 200)."""


class StreamErrorEvent(Exception):
    """The stream carried an `error` object instead of a chunk."""


_decode_chunk = msgspec.json.Decoder(Chunk).decode
DONE = b"[DONE]"


def texts_of(chunk: Chunk) -> list[str]:
    """The non-empty delta texts of a chunk, in choice order."""
    return [c.delta.content for c in chunk.choices if c.delta is not None and c.delta.content]


def tool_deltas_of(chunk: Chunk) -> list[ToolCallDelta]:
    """The tool-call pieces of a chunk (first choice only: we ask for one)."""
    return [
        t for c in chunk.choices if c.delta is not None and c.delta.tool_calls for t in c.delta.tool_calls
    ]


def parse_data(data: bytes) -> Chunk:
    """One event's data; raises `msgspec.DecodeError` when it is not a chunk, and
    `StreamErrorEvent` when it is an error."""
    chunk = _decode_chunk(data)
    if chunk.error is not None:
        raise StreamErrorEvent(bytes(chunk.error).decode(errors="replace")[:500])
    return chunk


class Splitter:
    """The `data:` payloads of an SSE byte stream, block by block as it arrives, until
    `[DONE]` (then `done`). A plain object, not an async generator: one layer less to resume
    per socket read of every stream (issue 11).

    Events here are single-line JSON (as every OpenAI-compatible server sends them); a
    multi-line `data` event is joined with newlines as the SSE spec says.
    """

    __slots__ = ("rest", "pending", "done")

    def __init__(self) -> None:
        self.rest = b""
        self.pending: list[bytes] = []
        self.done = False

    def feed(self, block: bytes) -> list[bytes]:
        """The events `block` completes (none after `[DONE]`)."""
        if self.done:
            return []
        lines = (self.rest + block if self.rest else block).split(b"\n")
        self.rest = lines.pop()
        events: list[bytes] = []
        pending = self.pending
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:  # end of an event
                if pending:
                    data = pending[0] if len(pending) == 1 else b"\n".join(pending)
                    pending.clear()
                    if data == DONE:
                        self.done = True
                        return events
                    events.append(data)
            elif line.startswith(b"data:"):
                value = line[5:]
                pending.append(value[1:] if value.startswith(b" ") else value)
            # comments (":"), `event:`, `id:` and `retry:` lines carry nothing we use
        return events

    def end(self) -> list[bytes]:
        """The event left unterminated when the body ended (a server that closed without
        the blank line)."""
        if self.done or not self.pending or self.pending == [DONE]:
            return []
        return [b"\n".join(self.pending)]
