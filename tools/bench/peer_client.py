"""An OpenAI-compatible streaming chat client over raw HTTP/1.1 (the peers' own interface).

The same client drives a peer gateway (the LiteLLM proxy) and the fake LLM directly (the
"direct call" floor), so the two are measured alike. Lean on purpose: asyncio streams, a
chunked-transfer and server-sent-events parser of a few lines and msgspec, so that at 1,000
streams the bench client is not what is measured. It fills the bench's `Chat` record (sent,
first delta, every delta's arrival, done) exactly as the WebSocket client does.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import msgspec

from tools.bench.client import Chat

_encode = msgspec.json.Encoder().encode


class _Delta(msgspec.Struct):
    content: str | None = None


class _Choice(msgspec.Struct):
    delta: _Delta | None = None


class _Chunk(msgspec.Struct):
    choices: list[_Choice] = []


_decode_chunk = msgspec.json.Decoder(_Chunk).decode
COMPLETED = "execution.completed"
"""`Chat.final` of a stream that ended with `data: [DONE]` (so `Chat.ok` reads the same)."""


class HttpChat:
    """One keep-alive connection to `base_url` (ending in /v1); one streamed chat at a time."""

    def __init__(self, base_url: str, model: str, api_key: str = "bench-key") -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.path = parts.path.rstrip("/") + "/chat/completions"
        self.model, self.api_key = model, api_key
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @classmethod
    async def open(cls, base_url: str, model: str, api_key: str = "bench-key") -> HttpChat:
        """Connected (so connecting is not part of the first chat's time)."""
        chat = cls(base_url, model, api_key)
        await chat._connect()
        return chat

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _request(self, content: str) -> bytes:
        body = _encode(
            {
                "model": self.model,
                "messages": [{"role": "user", "content": content}],
                "stream": True,
                "stream_options": {"include_usage": True},
            }
        )
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {self.api_key}\r\nContent-Type: application/json\r\n"
            f"Accept: text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def chat(self, content: str, within: float = 120) -> Chat:
        """Send one streamed completion request; collect its deltas until `[DONE]`."""
        if self._writer is None:
            await self._connect()
        result = Chat(sent=time.perf_counter())
        parts: list[str] = []
        try:
            async with asyncio.timeout(within):
                await self._exchange(self._request(content), result, parts)
        except TimeoutError:
            result.error = "timeout"
        except (OSError, asyncio.IncompleteReadError, ValueError, msgspec.DecodeError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            result.text = "".join(parts)
        if result.error:
            await self.close()  # the connection's state is unknown: the next chat reconnects
        return result

    async def _exchange(self, request: bytes, result: Chat, parts: list[str]) -> None:
        assert self._reader is not None and self._writer is not None
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(b":") for line in head.split(b"\r\n")[1:] if line)
        }
        if status != 200:
            body = await self._body(headers)
            result.error = f"HTTP {status}: {body[:300].decode(errors='replace')}"
            return
        pending, finished = b"", False
        async for data in self._chunks(headers):  # read to the body's end: the connection is reused
            if finished:
                continue
            pending += data
            *events, pending = pending.split(b"\n\n")
            finished = any(self._on_event(event, result, parts) for event in events)
        if not finished:
            result.error = "stream ended without [DONE]"
        if headers.get(b"connection", b"").lower() == b"close":
            await self.close()

    def _on_event(self, event: bytes, result: Chat, parts: list[str]) -> bool:
        """Handle one server-sent event; True at `[DONE]`."""
        for line in event.split(b"\n"):
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if payload == b"[DONE]":
                result.done, result.final = time.perf_counter(), COMPLETED
                return True
            chunk = _decode_chunk(payload)
            text = "".join(c.delta.content for c in chunk.choices if c.delta and c.delta.content)
            if text:
                now = time.perf_counter()
                if result.first_delta is None:
                    result.first_delta = now
                result.deltas.append(now)
                parts.append(text)
        return False

    async def _chunks(self, headers: dict[bytes, bytes]):  # noqa: ANN202 - an async generator
        """The body's bytes as they arrive (chunked, sized or until the server closes)."""
        assert self._reader is not None
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            while True:
                size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self._reader.readuntil(b"\r\n")  # no trailers are sent
                    return
                yield await self._reader.readexactly(size)
                await self._reader.readexactly(2)
        elif b"content-length" in headers:
            yield await self._reader.readexactly(int(headers[b"content-length"]))
        else:
            while data := await self._reader.read(65536):
                yield data

    async def _body(self, headers: dict[bytes, bytes]) -> bytes:
        return b"".join([data async for data in self._chunks(headers)])
