"""uvicorn's sans-I/O WebSocket protocol, lighter per idle socket (issue 11: 10,000 idle sockets).

`hirebuddha web` serves WebSockets with `LeanWebSocketProtocol` (runtime/cli.py). It is
uvicorn's `websockets-sansio` implementation with the same frames, flow control and close
handshake; only what an idle socket keeps is smaller:

- the incoming-event queue and the "writable" flag hold a future only while someone waits
  (asyncio.Queue keeps three deques and asyncio.Event one, ~3 KB per socket);
- the handshake's request and response (their header structures, ~4 KB) are emptied and
  dropped once the handshake is answered: nothing reads them afterwards.

It also lets the chat socket write its text frames straight to the transport
(`write_texts`, found through `of_scope`): framed here from JSON bytes already encoded, all
frames due on one socket in one `transport.write`, without the ASGI send path (Litestar's
send wrappers, uvicorn's `send`, the websockets encoder) that cost more per frame than the
write itself (README "Performance", issue 11). Only server-to-client text frames take this
path: they are never masked, and with permessage-deflate off (runtime/cli.py) never
compressed, so the websockets protocol object keeps no state about them. The handshake,
pings and the close handshake still go through uvicorn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

SCOPE_KEY = "hirebuddha.ws"
"""Where `LeanWebSocketProtocol` puts itself in the ASGI scope's `extensions`."""

WROTE, PAUSED, GONE = 0, 1, 2
"""What `write_texts` did: wrote the frames; wrote nothing, the transport's buffer is full
(wait for `writable`); wrote nothing, the socket is closing or closed (drop them)."""

_HEADERS = [bytes((0x81, n)) for n in range(126)]
"""FIN + text opcode, unmasked, and the length of a payload under 126 bytes (RFC 6455 5.2)."""


class Inbox:
    """The part of asyncio.Queue uvicorn uses (`put_nowait`, `get`, `empty`), unbounded."""

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiters: list[asyncio.Future[None]] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiters = self._waiters
        if waiters:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
                    break

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    async def get(self) -> Any:
        while not self._items:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                # Cancelled after being woken: pass the item on to another getter.
                if waiter.done() and not waiter.cancelled() and self._items:
                    self._wake_next(waiter)
                raise
            finally:
                self._forget(waiter)
        return self._items.pop(0)

    def _wake_next(self, skip: asyncio.Future[None]) -> None:
        for waiter in self._waiters or ():
            if waiter is not skip and not waiter.done():
                waiter.set_result(None)
                return

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        if self._waiters is not None:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            if not self._waiters:
                self._waiters = None


class Flag:
    """The part of asyncio.Event uvicorn uses (`set`, `clear`, `wait`, `is_set`)."""

    __slots__ = ("_set", "_waiters")

    def __init__(self, value: bool = False) -> None:
        self._set = value
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
            return True
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
                if not self._waiters:
                    self._waiters = None


def text_header(size: int) -> bytes:
    """The header of an unmasked, unfragmented text frame of `size` payload bytes."""
    if size < 126:
        return _HEADERS[size]
    if size < 1 << 16:
        return b"\x81\x7e" + size.to_bytes(2, "big")
    return b"\x81\x7f" + size.to_bytes(8, "big")


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O protocol with the idle-socket savings and the direct text-frame
    writes of the module doc."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag(True)  # type: ignore[assignment]

    @staticmethod
    def of_scope(scope: Any) -> LeanWebSocketProtocol | None:
        """The protocol serving this WebSocket scope (None under another server)."""
        found = (scope.get("extensions") or {}).get(SCOPE_KEY)
        return found if isinstance(found, LeanWebSocketProtocol) else None

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # accepted for an upgrade: the app may write through us
            scope["extensions"][SCOPE_KEY] = self

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        scope = getattr(self, "scope", None)
        if scope is not None:  # no cycle left between the scope and the protocol
            scope["extensions"].pop(SCOPE_KEY, None)

    def write_texts(self, payloads: Iterable[bytes]) -> int:
        """Write one text frame per payload (UTF-8 JSON), all in one transport write, if the
        socket is open and its transport's buffer below the high-water mark."""
        if (
            self.disconnected
            or self.close_sent
            or not self.handshake_complete
            or self.initial_response is not None
            or self.conn.state is not State.OPEN
            or self.transport.is_closing()
        ):
            return GONE
        if not self.writable.is_set():
            return PAUSED
        parts: list[bytes] = []
        for data in payloads:
            parts.append(text_header(len(data)))
            parts.append(data)
        self.transport.write(b"".join(parts))
        return WROTE

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and getattr(self, "response", None) is not None:
            # Answered (accepted or refused): the handshake objects are not read again. The
            # request stays referenced by websockets' suspended parser (a local of
            # ServerProtocol.parse), so its headers are emptied rather than only let go.
            self.request.headers.clear()
            self.response.headers.clear()
            self.request = self.response = None  # type: ignore[assignment]


__all__ = ["LeanWebSocketProtocol"]
