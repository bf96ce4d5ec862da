"""Fixed-window counters in PostgreSQL, shared by every web process (no single-process state)."""

from __future__ import annotations

import math

from litestar.exceptions import TooManyRequestsException

from runtime import db

_HIT = """
INSERT INTO rate_limit_buckets AS b (key, window_start, hits) VALUES ($1, now(), 1)
ON CONFLICT (key) DO UPDATE SET
  hits = CASE WHEN b.window_start < now() - make_interval(secs => $2) THEN 1 ELSE b.hits + 1 END,
  window_start = CASE WHEN b.window_start < now() - make_interval(secs => $2)
                      THEN now() ELSE b.window_start END
RETURNING hits, EXTRACT(EPOCH FROM (b.window_start + make_interval(secs => $2) - now())) AS left_s
"""


async def hit(limits: dict[str, int], window_s: int) -> int | None:
    """Count one hit on each key; the seconds to wait when any is over its limit, else None."""
    async with db.scope():  # committed before any refusal, so refused attempts count too
        rows = {key: await db.fetchrow(_HIT, key, float(window_s)) for key in limits}
    over = [float(r["left_s"]) for k, r in rows.items() if r is not None and r["hits"] > limits[k]]
    return max(1, math.ceil(max(over))) if over else None


async def enforce(limits: dict[str, int], window_s: int) -> None:
    """Count one hit on each key; raise 429 with Retry-After when any is over its limit."""
    retry = await hit(limits, window_s)
    if retry is not None:
        raise TooManyRequestsException(
            "Too many attempts; try again later.", headers={"Retry-After": str(retry)}
        )
