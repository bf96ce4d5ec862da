"""`rest`: one read route under a fixed request rate (open loop), latency percentiles.

Requests are scheduled at fixed instants whatever the answers do; latency is counted from
the scheduled instant (so a stalled server cannot hide its backlog) and, separately, from
the moment the request was written.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from urllib.parse import urlsplit

from tools.bench.client import RawHttp, get_request
from tools.bench.progress import Progress
from tools.bench.stats import CpuMeter, summary

PATH = "/api/v1/agents"


async def _pool(host: str, port: int, size: int) -> asyncio.Queue[RawHttp]:
    pool: asyncio.Queue[RawHttp] = asyncio.Queue()
    for conn in await asyncio.gather(*(RawHttp.open(host, port) for _ in range(size))):
        pool.put_nowait(conn)
    return pool


async def _load(
    pool: asyncio.Queue[RawHttp],
    request: bytes,
    host: str,
    port: int,
    rate: float,
    seconds: float,
    progress: Progress | None,
) -> tuple[list[float], list[float], Counter[str]]:
    loop = asyncio.get_running_loop()
    scheduled_ms: list[float] = []
    service_ms: list[float] = []
    statuses: Counter[str] = Counter()
    total = int(rate * seconds)

    async def one(at: float) -> None:
        conn = await pool.get()
        sent = loop.time()
        try:
            status = await conn.get(request)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            statuses[type(exc).__name__] += 1
            conn.close()
            conn = await RawHttp.open(host, port)
        else:
            now = loop.time()
            statuses[str(status)] += 1
            scheduled_ms.append((now - at) * 1000)
            service_ms.append((now - sent) * 1000)
        pool.put_nowait(conn)

    start = loop.time() + 0.05
    tasks = []
    for i in range(total):
        at = start + i / rate
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(at)))
        if progress is not None and i % 50 == 0:
            progress.step(i, total)
    await asyncio.gather(*tasks)
    return scheduled_ms, service_ms, statuses


async def run_rest(
    base_url: str,
    token: str,
    rate: float,
    seconds: float,
    web_pid: int,
    progress: Progress,
    connections: int = 64,
) -> dict[str, object]:
    """GET /api/v1/agents at `rate` requests/s for `seconds` (after one warm-up second)."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = get_request(host, port, PATH, token)
    pool = await _pool(host, port, connections)
    try:
        progress.phase(f"rest warm-up ({rate:g}/s)")
        await _load(pool, request, host, port, rate, 1.0, None)
        progress.phase(f"rest GET {PATH} at {rate:g}/s for {seconds:g}s")
        meter = CpuMeter({"web": web_pid})
        meter.start()
        started = time.perf_counter()
        scheduled, service, statuses = await _load(pool, request, host, port, rate, seconds, progress)
        elapsed = time.perf_counter() - started
        cpu = meter.stop()["web"]
    finally:
        while not pool.empty():
            pool.get_nowait().close()
    answered = sum(statuses.values())
    return {
        "path": PATH,
        "target_rate": rate,
        "seconds": seconds,
        "requests": answered,
        "achieved_rate": round(answered / elapsed, 1),
        "statuses": dict(statuses),
        "ok": statuses.get("200", 0) == answered,
        "latency_ms": summary(scheduled, (50, 95, 99)),
        "service_ms": summary(service, (50, 95, 99)),
        "web_cpu_ms_per_request": round(cpu * 1000 / answered, 3) if answered else None,
    }
