"""`sockets`: K idle authenticated chat sockets; the server process's memory per socket."""

from __future__ import annotations

import asyncio
import gc
import time

from tools.bench.chat import Target, close_sockets, open_sockets
from tools.bench.progress import Progress
from tools.bench.stats import rss_bytes


async def _settled_rss(pid: int, seconds: float = 1.0) -> int:
    await asyncio.sleep(seconds)  # let the server finish handshakes and free temporaries
    return rss_bytes(pid)


async def run_sockets(
    target: Target, k: int, sessions: int, pid: int, progress: Progress
) -> dict[str, object]:
    """Open K sockets over `sessions` sessions; RSS of `pid` before, with them, and after."""
    progress.phase(f"sockets [{target.name}] warm-up")
    await close_sockets(await open_sockets(target, range(min(sessions, 20)), progress))
    before = await _settled_rss(pid)
    progress.phase(f"sockets [{target.name}] opening {k}")
    started = time.perf_counter()
    sockets = await open_sockets(target, [i % sessions for i in range(k)], progress, parallel=200)
    opened_s = time.perf_counter() - started
    try:
        held = await _settled_rss(pid, 2.0)
        alive = sum(s.is_open for s in sockets)
    finally:
        progress.phase(f"sockets [{target.name}] closing {k}")
        await close_sockets(sockets)
        del sockets
        gc.collect()
    after = await _settled_rss(pid)
    per_socket = (held - before) / k
    return {
        "sockets": k,
        "sessions": sessions,
        "open_after_hold": alive,
        "open_seconds": round(opened_s, 3),
        "opens_per_s": round(k / opened_s, 1),
        "rss_before_mb": round(before / 2**20, 1),
        "rss_with_sockets_mb": round(held / 2**20, 1),
        "rss_after_close_mb": round(after / 2**20, 1),
        "bytes_per_socket": round(per_socket),
        "projected_rss_10k_mb": round((before + 10_000 * per_socket) / 2**20, 1),
    }
