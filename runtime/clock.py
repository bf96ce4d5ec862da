"""The one clock billing asks for "now" (docs/billing.md "Time").

`await clock.now()` is wall-clock UTC plus an offset. The offset exists only with
`HB_ENV=test`: tests move time forward across every process at once by writing it to the
`system_configs` row `clock.offset_seconds` (`await clock.advance(...)`), and each process
re-reads that row at most every `CACHE_S` seconds. In development and production the row is
never read and `now()` is the wall clock.

The offset is read on a connection of its own (not the caller's transaction), so asking the
time never changes the scope of the transaction that asks.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

from runtime.settings import get_settings

OFFSET_KEY = "clock.offset_seconds"
CACHE_S = 0.5
"""How long a process trusts the offset it read; tests that move the clock wait for it."""

_cached: tuple[float, float] | None = None  # (monotonic time read, offset seconds)


def _testing() -> bool:
    return get_settings().env == "test"


async def offset_seconds() -> float:
    """The current offset (0 outside tests)."""
    global _cached
    if not _testing():
        return 0.0
    if _cached is not None and time.monotonic() - _cached[0] < CACHE_S:
        return _cached[1]
    from runtime.db import APP_DB

    value = 0.0
    if APP_DB.pool is not None:
        async with APP_DB.pool.acquire() as conn:
            raw = await conn.fetchval("SELECT value FROM system_configs WHERE key = $1", OFFSET_KEY)
        value = float(Decimal(raw)) if raw else 0.0
    _cached = (time.monotonic(), value)
    return value


async def now() -> dt.datetime:
    """Aware UTC now, moved by the test offset."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=await offset_seconds())


async def set_offset(seconds: float) -> None:
    """Tests only: every process's `now()` is wall clock + `seconds` within `CACHE_S`."""
    global _cached
    if not _testing():
        raise RuntimeError("the clock can only be moved with HB_ENV=test")
    from runtime.db import APP_DB

    assert APP_DB.pool is not None, "open the pool first"
    async with APP_DB.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO system_configs (id, key, value, is_encrypted, description, created_at, updated_at) "
            "VALUES (gen_random_uuid(), $1, $2, false, 'test clock offset', now(), now()) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
            OFFSET_KEY,
            repr(float(seconds)),
        )
    _cached = (time.monotonic(), float(seconds))


async def advance(delta: dt.timedelta) -> dt.datetime:
    """Tests only: move every process's clock forward by `delta`; returns the new now."""
    global _cached
    _cached = None
    await set_offset(await offset_seconds() + delta.total_seconds())
    return await now()
