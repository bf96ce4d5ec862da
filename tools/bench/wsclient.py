"""A lean WebSocket client for the bench: an asyncio protocol that parses the server's frames
as bytes arrive and hands each message to a callback, with no task, queue or await per frame.

At 1,000 streams the bench receives hundreds of thousands of frames on the same two cores as
the servers it measures; a client that costs more per frame than the server takes CPU from
both Hirebuddha and its floor, and its lag shows up as theirs (README "Performance"). This
client speaks what the chat socket needs (RFC 6455): the opening handshake, masked text
frames out, unmasked text/binary frames in (fragmented messages joined), ping, close.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable
from urllib.parse import urlsplit

MAX_MESSAGE = 1 << 22
_MASKED_SHORT = struct.Struct("!BB4s")
_MASKED_MID = struct.Struct("!BBH4s")
_MASKED_LONG = struct.Struct("!BBQ4s")

Handler = Callable[[bytes, float], None]
"""Called with each whole message and the perf_counter time its last bytes were read."""


class HandshakeError(ConnectionError):
    """The server did not switch protocols."""


def _frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (clients must mask, RFC 6455 5.3)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = _MASKED_SHORT.pack(0x80 | opcode, 0x80 | n, mask)
    elif n < 1 << 16:
        head = _MASKED_MID.pack(0x80 | opcode, 0x80 | 126, n, mask)
    else:
        head = _MASKED_LONG.pack(0x80 | opcode, 0x80 | 127, n, mask)
    if n:
        key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        payload = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")
    return head + payload


class LeanWebSocket(asyncio.Protocol):
    """One client connection. `handler` receives every message; set it before data flows."""

    def __init__(self, request: bytes) -> None:
        self._request = request
        self._buffer = bytearray()
        self._open = False
        self._fragments: list[bytes] = []
        self.handshake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.handler: Handler = lambda message, at: None

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self._request)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        at = time.perf_counter()
        buffer = self._buffer
        buffer += data
        if not self._open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end])
            del buffer[: end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self._fail(HandshakeError(head.split(b"\r\n", 1)[0].decode("latin-1")))
                return
            self._open = True
            if not self.handshake.done():
                self.handshake.set_result(None)
        self._parse(buffer, at)

    def connection_lost(self, exc: Exception | None) -> None:
        self._open = False
        self._fail(exc or ConnectionError("connection closed"))

    # --- frames -------------------------------------------------------------------------

    def _parse(self, buffer: bytearray, at: float) -> None:
        pos, size = 0, len(buffer)
        while size - pos >= 2:
            b0, b1 = buffer[pos], buffer[pos + 1]
            length, start = b1 & 0x7F, pos + 2
            if length == 126:
                if size - start < 2:
                    break
                length, start = int.from_bytes(buffer[start : start + 2], "big"), start + 2
            elif length == 127:
                if size - start < 8:
                    break
                length, start = int.from_bytes(buffer[start : start + 8], "big"), start + 8
            if b1 & 0x80 or length > MAX_MESSAGE:  # servers never mask (RFC 6455 5.1)
                self._fail(ConnectionError("protocol error from the server"))
                return
            end = start + length
            if end > size:
                break
            self._frame(b0, bytes(buffer[start:end]), at)
            pos = end
        if pos:
            del buffer[:pos]

    def _frame(self, b0: int, payload: bytes, at: float) -> None:
        opcode = b0 & 0x0F
        if opcode in (0x1, 0x2, 0x0):  # text, binary, continuation
            if not b0 & 0x80:
                self._fragments.append(payload)
                return
            if self._fragments:
                payload = b"".join([*self._fragments, payload])
                self._fragments.clear()
            self.handler(payload, at)
        elif opcode == 0x9:  # ping
            self._write(_frame(0xA, payload))
        elif opcode == 0x8:  # close: answer it, the server closes the connection
            self._write(_frame(0x8, payload[:2]))
            self._fail(ConnectionError("closed by the server"))

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _fail(self, exc: BaseException) -> None:
        for future in (self.handshake, self.closed):
            if not future.done():
                if future is self.closed:
                    future.set_result(None)
                else:
                    future.set_exception(exc)

    # --- the API the bench uses ---------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._open and not self.closed.done()

    def send_text(self, text: str | bytes) -> None:
        """Send one text message (written at once; chat frames are small)."""
        self._write(_frame(0x1, text.encode() if isinstance(text, str) else text))

    async def close(self, within: float = 5) -> None:
        """Close handshake, then the connection."""
        if self.transport is None:
            return
        if self._open:
            self._write(_frame(0x8, struct.pack("!H", 1000)))
            try:
                await asyncio.wait_for(asyncio.shield(self.closed), within)
            except TimeoutError:
                pass
        self.transport.close()


async def connect(url: str, within: float = 30) -> LeanWebSocket:
    """Open `ws://host:port/path` and finish the opening handshake."""
    parts = urlsplit(url)
    if parts.scheme != "ws" or parts.hostname is None:
        raise ValueError(f"the bench client speaks ws:// only: {url}")
    port = parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {parts.hostname}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(within):
        _, protocol = await loop.create_connection(lambda: LeanWebSocket(request), parts.hostname, port)
        try:
            await protocol.handshake
        except BaseException:
            if protocol.transport is not None:
                protocol.transport.close()
            raise
    return protocol
