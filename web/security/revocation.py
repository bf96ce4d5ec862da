"""Suspending a partner or tenant, or deactivating a user, closes their open sockets at once.

Every request re-reads the caller, but a socket authenticates once; without this, a chat or
live-usage socket opened before the suspension kept streaming. Each web process:

- tracks its authenticated sockets (`track`, called by the shared socket handshake), keyed
  weakly by the task serving the socket, so an ended socket leaves no entry behind;
- LISTENs on PostgreSQL channel `hb_access_revoked`, which a trigger notifies when such a
  change commits (piccolo_migrations/*_access_revoked.py), and closes every matching socket
  with close code 4410 (`CLOSE_ACCESS_REVOKED`). The client should not reconnect: its token
  is refused from now on anyway (4401).

Why PostgreSQL and not a broker broadcast: NOTIFY is transactional (sent at commit, never
for a rolled-back change) and fires whichever code path made the change. It needs a direct
(session-mode) connection: a transaction-mode pooler drops LISTEN (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from litestar import Litestar, WebSocket

from runtime.settings import Settings
from web.auth.identity import Principal

log = logging.getLogger("hirebuddha.web")

CHANNEL = "hb_access_revoked"
CLOSE_ACCESS_REVOKED = 4410
"""WebSocket close code: the caller's access was revoked (suspended or deactivated)."""
RECONNECT_S = 1.0


@dataclass(frozen=True)
class Revoked:
    """Whose access ended: a partner, a tenant, or one user (`user_id` with its tenant)."""

    partner_id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None

    @classmethod
    def parse(cls, payload: str) -> Revoked:
        data = json.loads(payload)
        keys = ("partner_id", "tenant_id", "user_id")
        return cls(**{k: uuid.UUID(v) if v else None for k, v in data.items() if k in keys})

    def covers(self, me: Principal) -> bool:
        if self.user_id is not None:
            return me.id == self.user_id
        if self.tenant_id is not None:
            return me.tenant_id == self.tenant_id
        return self.partner_id is not None and me.partner_id == self.partner_id


_live: weakref.WeakKeyDictionary[asyncio.Task, tuple[WebSocket, Principal]] = weakref.WeakKeyDictionary()
"""Open authenticated sockets of this process, by the task serving each."""


def track(socket: WebSocket, me: Principal) -> None:
    """Remember an authenticated socket until the task serving it ends."""
    task = asyncio.current_task()
    if task is not None:
        _live[task] = (socket, me)


def open_sockets() -> int:
    """How many tracked sockets are still being served."""
    return sum(1 for task in list(_live) if not task.done())


async def close_matching(revoked: Revoked) -> int:
    """Close every open socket `revoked` covers; returns how many."""
    matching = [
        socket
        for task, (socket, me) in list(_live.items())
        if not task.done() and socket.connection_state != "disconnect" and revoked.covers(me)
    ]
    for socket in matching:
        with contextlib.suppress(Exception):  # already closing: nothing left to do
            await socket.close(code=CLOSE_ACCESS_REVOKED, reason="access revoked")
    if matching:
        log.info("closed %d sockets: access revoked", len(matching), extra={"revoked": str(revoked)})
    return len(matching)


class AccessWatch:
    """LISTENs on `CHANNEL` over its own connection, reconnecting after a database outage."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._task: asyncio.Task | None = None
        self._closing: set[asyncio.Task] = set()  # strong references until each close is done
        self.listening = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="access-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            revoked = Revoked.parse(payload)
        except (ValueError, TypeError):
            log.error("ignoring a malformed %s notification: %r", CHANNEL, payload[:200])
            return
        task = asyncio.get_running_loop().create_task(close_matching(revoked))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _run(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._on_notify)
                self.listening.set()
                await lost.wait()
                log.warning("access watch lost its database connection; reconnecting")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("access watch cannot listen yet (%s); retrying", type(exc).__name__)
            finally:
                self.listening.clear()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=1)
            await asyncio.sleep(RECONNECT_S)


@asynccontextmanager
async def revocation_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Listen for revocations while the web process runs."""
    settings: Settings = app.state.settings
    watch = AccessWatch(settings.db.app_url)
    watch.start()
    app.state.access_watch = watch
    try:
        yield
    finally:
        await watch.stop()
