"""A lean HTTP/1.1 client for one thing: POST a streamed chat completion, read its body.

The openai SDK under a streamed reply cost most of an actors process's CPU that was not
ours (issue 11, py-spy at 300 streams): ~15% transforming each request's parameters
(`async_transform`, `typing` introspection) and ~17% in httpx/httpcore's per-read machinery
(an anyio cancel scope and h11 events per socket read, i.e. per token). Here a request is
one msgspec encode and one pre-built header block, and a body read is one
`StreamReader.read` plus a slice of chunked framing.

What it keeps of the SDK's behaviour: `Authorization: Bearer <key>` and the provider's own
headers (which win, case-insensitively), the SDK's default base URL, a status error's
message (`Error code: <status> - <body>`), connections kept alive per endpoint (TLS for
https, certifi's roots as httpx uses), a connect timeout and no read timeout (the execution
bounds the wait for each item). A connection that saw its whole body goes back to the pool;
any other ending (cancel, `aclose`, an error, a body cut short) closes it. A kept
connection the server closed meanwhile is retried once on a new one, before any byte of a
response arrived (as browsers do). Redirects are not followed (a 3xx is a rejection).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
import urllib.request
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec

CONNECT_TIMEOUT_S = 60.0
"""Connect (and TLS handshake) plus sending the request; the SDK's `STREAM_TIMEOUT` had 60 s."""
KEEPALIVE_S = 30.0
"""An idle kept connection older than this is closed instead of reused."""
MAX_IDLE = 100
"""Idle connections kept per endpoint (the SDK's httpx limit: 100 keep-alive)."""
READ_SIZE = 65536
MAX_HEAD = 65536
"""Longest status line plus headers accepted."""
MAX_ERROR_BODY = 1 << 20

_encode = msgspec.json.Encoder().encode


class HttpError(Exception):
    """The endpoint answered a non-2xx status; `text` is its body (stripped)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(status, text)
        self.status = status
        self.text = text

    @property
    def message(self) -> str:
        """The SDK's message for a status error (`openai.APIStatusError.message`)."""
        try:
            body = msgspec.json.decode(self.text)
        except (msgspec.DecodeError, ValueError):
            return self.text or f"Error code: {self.status}"
        return f"Error code: {self.status} - {body}"


class ConnectError(Exception):
    """The endpoint could not be reached (or the connection broke before a response)."""


class BrokenBody(Exception):
    """The body ended before its framing said it would, or its framing was malformed."""


_ssl_context: ssl.SSLContext | None = None


def proxied(base_url: str | None) -> bool:
    """A proxy of the environment applies to `base_url` (`HTTPS_PROXY`, `ALL_PROXY`, ... and
    not `NO_PROXY`): the SDK, which honours them, must make that request, not this client."""
    url = urlsplit(base_url or "https://api.openai.com/v1")
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(url.scheme) or proxies.get("all")):
        return False
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    return not bypass(url.hostname or "", proxies)


def _tls() -> ssl.SSLContext:
    global _ssl_context
    if _ssl_context is None:
        try:
            import certifi

            _ssl_context = ssl.create_default_context(cafile=certifi.where())
        except ImportError:  # pragma: no cover - certifi comes with httpx
            _ssl_context = ssl.create_default_context()
    return _ssl_context


class _Conn:
    __slots__ = ("reader", "writer", "idle_since", "reused")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0
        self.reused = False

    def usable(self) -> bool:
        return (
            not self.writer.transport.is_closing()
            and not self.reader.at_eof()
            and time.monotonic() - self.idle_since < KEEPALIVE_S
        )

    def close(self) -> None:
        self.writer.transport.abort()


class Endpoint:
    """One OpenAI-compatible endpoint: its URL, key, headers and kept connections.

    One per provider configuration per process (`actors.llm.Providers`), shared by every
    execution of that process; `close()` at shutdown.
    """

    def __init__(
        self, base_url: str | None, api_key: str | None, headers: Mapping[str, str] | None = None
    ) -> None:
        url = urlsplit((base_url or "https://api.openai.com/v1").rstrip("/") + "/chat/completions")
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url
        self.host = url.hostname
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self.tls = url.scheme == "https"
        path = url.path + (f"?{url.query}" if url.query else "")
        default_port = 443 if self.tls else 80
        host_header = self.host if ":" not in self.host else f"[{self.host}]"
        if self.port != default_port:
            host_header = f"{host_header}:{self.port}"
        fields: dict[str, tuple[str, str]] = {}  # lower name -> (name, value)
        for name, value in (
            ("Host", host_header),
            ("Accept", "text/event-stream"),
            ("Content-Type", "application/json"),
            ("User-Agent", "hirebuddha"),
            ("Authorization", f"Bearer {api_key or 'unused'}"),
            *(headers or {}).items(),
        ):
            if "\r" in name + value or "\n" in name + value:
                raise ValueError(f"header {name!r} holds a line break")
            fields[name.lower()] = (name, value)
        lines = [f"POST {path} HTTP/1.1", *(f"{n}: {v}" for n, v in fields.values())]
        self._head = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        self._idle: list[_Conn] = []
        self._open: set[_Conn] = set()

    async def _connect(self) -> _Conn:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                reader, writer = await asyncio.open_connection(
                    self.host,
                    self.port,
                    ssl=_tls() if self.tls else None,
                    server_hostname=self.host if self.tls else None,
                    limit=MAX_HEAD,
                )
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise ConnectError(f"Connection error: {exc!r}") from exc
        return _Conn(reader, writer)

    def _acquire_idle(self) -> _Conn | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.usable():
                conn.reused = True
                return conn
            conn.close()
        return None

    def _release(self, conn: _Conn) -> None:
        self._open.discard(conn)
        if len(self._idle) < MAX_IDLE and not conn.writer.transport.is_closing():
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()

    def _discard(self, conn: _Conn) -> None:
        self._open.discard(conn)
        conn.close()

    def close(self) -> None:
        """Close every connection, idle or streaming (process shutdown)."""
        for conn in [*self._idle, *self._open]:
            conn.close()
        self._idle.clear()
        self._open.clear()

    async def post(self, payload: dict[str, Any]) -> Response:
        """POST `payload` (JSON) to `/chat/completions`; the response once its head arrived.

        Raises `ConnectError` (no response), `HttpError` (a non-2xx status, body read)."""
        body = _encode(payload)
        request = self._head + b"Content-Length: %d\r\n\r\n" % len(body) + body
        conn = self._acquire_idle()
        while True:
            fresh = conn is None
            if conn is None:
                conn = await self._connect()
            self._open.add(conn)
            try:
                conn.writer.write(request)
                head = await conn.reader.readuntil(b"\r\n\r\n")
            except asyncio.CancelledError:
                self._discard(conn)
                raise
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                self._discard(conn)
                if not fresh and not (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                    conn = None  # a kept connection the server had closed: once more, fresh
                    continue
                raise ConnectError(f"Connection error: {exc!r}") from exc
            break
        try:
            response = Response(self, conn, head)
        except BrokenBody as exc:
            self._discard(conn)
            raise ConnectError(f"malformed response head: {exc}") from exc
        if not 200 <= response.status < 300:
            try:
                text = await response.read_all(MAX_ERROR_BODY)
            except (BrokenBody, OSError, asyncio.IncompleteReadError):
                text = b""
            finally:
                response.close()
            raise HttpError(response.status, text.decode("utf-8", "replace").strip())
        return response


class Response:
    """A response's status and its body as an async iterator of byte blocks."""

    def __init__(self, endpoint: Endpoint, conn: _Conn, head: bytes) -> None:
        self._endpoint = endpoint
        self._conn: _Conn | None = conn
        lines = head[:-4].split(b"\r\n")
        status_line = lines[0].split(b" ", 2)
        if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/1."):
            raise BrokenBody(repr(lines[0][:100]))
        try:
            self.status = int(status_line[1])
        except ValueError as exc:
            raise BrokenBody(repr(lines[0][:100])) from exc
        self.headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            self.headers[name.strip().lower()] = value.strip()
        self._chunked = b"chunked" in self.headers.get(b"transfer-encoding", b"").lower()
        length = self.headers.get(b"content-length")
        self._left = int(length) if length is not None and not self._chunked else -1
        # Kept alive only when the body's end is known and the server does not close.
        self._keep = (self._chunked or self._left >= 0) and (
            b"close" not in self.headers.get(b"connection", b"").lower() and status_line[0] != b"HTTP/1.0"
        )
        self._done = False
        self._buffer = b""
        self._body = self._chunks() if self._chunked else self._plain()

    async def _read(self) -> bytes:
        if self._conn is None:
            raise BrokenBody("the connection was closed")
        return await self._conn.reader.read(READ_SIZE)

    def iter_bytes(self) -> AsyncIterator[bytes]:
        """The body, decoded from its transfer framing, block by block as it arrives (one
        iterator: a reader that stopped early, at `[DONE]`, leaves the rest to `finish`)."""
        return self._body

    async def _plain(self) -> AsyncIterator[bytes]:
        if self._left >= 0:
            while self._left > 0:
                block = await self._read()
                if not block:
                    raise BrokenBody("the connection closed before the body's end")
                self._left -= len(block)
                yield block
            self._done = True
        else:  # until the server closes
            while block := await self._read():
                yield block
            self._done = True

    async def _chunks(self) -> AsyncIterator[bytes]:
        # The data of every chunk one read brought is yielded as one block, just before the
        # next read (a provider sends a chunk per token: one block per read, not per token,
        # is what the layers above pay for under load; issue 11).
        buf = self._buffer
        taken: list[bytes] = []
        while True:
            # buf holds the start of a chunk: its size line, then data, then CRLF.
            end = buf.find(b"\r\n")
            if end < 0 and taken:
                yield taken[0] if len(taken) == 1 else b"".join(taken)
                taken.clear()
            while end < 0:
                if len(buf) > 4096:
                    raise BrokenBody("chunk size line too long")
                more = await self._read()
                if not more:
                    raise BrokenBody("the connection closed inside the chunked body")
                buf += more
                end = buf.find(b"\r\n")
            try:
                size = int(buf[:end].split(b";", 1)[0], 16)
            except ValueError as exc:
                raise BrokenBody(f"bad chunk size {buf[:end][:40]!r}") from exc
            buf = buf[end + 2 :]
            if size == 0:  # last chunk, then trailers up to an empty line
                if taken:
                    yield taken[0] if len(taken) == 1 else b"".join(taken)
                    taken.clear()
                while True:
                    end = buf.find(b"\r\n")
                    if end == 0:
                        self._buffer = buf[2:]
                        self._done = True
                        return
                    if end > 0:
                        buf = buf[end + 2 :]
                        continue
                    more = await self._read()
                    if not more:
                        raise BrokenBody("the connection closed inside the trailers")
                    buf += more
            # Take what is here of the chunk's data at once (an SSE event needs no wait
            # for the rest of a chunk), read the rest as it arrives.
            left = size
            while True:
                if buf:
                    piece = buf[:left]
                    buf = buf[left:]
                    left -= len(piece)
                    taken.append(piece)
                if left == 0:
                    break
                if taken:
                    yield taken[0] if len(taken) == 1 else b"".join(taken)
                    taken.clear()
                buf = await self._read()
                if not buf:
                    raise BrokenBody("the connection closed inside a chunk")
            while len(buf) < 2:
                if taken:
                    yield taken[0] if len(taken) == 1 else b"".join(taken)
                    taken.clear()
                more = await self._read()
                if not more:
                    raise BrokenBody("the connection closed after a chunk")
                buf += more
            if buf[:2] != b"\r\n":
                raise BrokenBody("chunk data not followed by CRLF")
            buf = buf[2:]

    async def read_all(self, limit: int) -> bytes:
        """The whole body (at most `limit` bytes are kept)."""
        out = bytearray()
        async for block in self.iter_bytes():
            if len(out) < limit:
                out += block[: limit - len(out)]
        return bytes(out)

    async def finish(self) -> None:
        """Read what is left of the body (its end after `[DONE]`), then keep the connection."""
        if self._conn is None:
            return
        if not self._done:
            async for _ in self.iter_bytes():
                pass
        self.close()

    def close(self) -> None:
        """Give the connection back when the body was read to its end, else close it."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._done and self._keep and not self._buffer:
            self._endpoint._release(conn)
        else:
            self._endpoint._discard(conn)

    def abort(self) -> None:
        """Close the connection now (a cancel: the server sees the client go away)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._endpoint._discard(conn)


with contextlib.suppress(ImportError):  # warm the import at start-up, as the SDK's was
    import certifi  # noqa: F401
