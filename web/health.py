"""`/health/live`, `/health/ready` and `/metrics` (public: no data of any tenant)."""

from __future__ import annotations

import asyncio
import collections

from litestar import Request, Response, get
from litestar.datastructures import State

from runtime import db

PUBLIC = {"exclude_from_auth": True}
REQUESTS: collections.Counter[str] = collections.Counter()


async def _db_ok() -> bool:
    try:
        async with asyncio.timeout(2), db.scope():
            await db.fetchrow("SELECT 1")
        return True
    except (OSError, TimeoutError, Exception):  # noqa: BLE001 - any failure means not ready
        return False


@get("/health/live", opt=PUBLIC, tags=["health"])
async def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/health/ready", opt=PUBLIC, tags=["health"])
async def ready(state: State) -> Response[dict[str, object]]:
    """PostgreSQL and RabbitMQ answer; 503 otherwise."""
    # The bus is the process's own broker connection: ready means the one we publish on works.
    checks = {"database": await _db_ok(), "broker": await state.bus.broker.ping(timeout=2)}
    status = 200 if all(checks.values()) else 503
    return Response(
        {"status": "ok" if status == 200 else "unavailable", "checks": checks}, status_code=status
    )


@get("/metrics", opt=PUBLIC, tags=["health"], media_type="text/plain; version=0.0.4")
async def metrics(request: Request) -> str:
    """Prometheus text: request counts by status class and the DB pool."""
    lines = ["# TYPE hirebuddha_http_requests_total counter"]
    lines += [f'hirebuddha_http_requests_total{{status="{k}"}} {v}' for k, v in sorted(REQUESTS.items())]
    pool = db.APP_DB.pool
    lines += [
        "# TYPE hirebuddha_db_pool_size gauge",
        f"hirebuddha_db_pool_size {pool.get_size() if pool else 0}",
    ]
    return "\n".join(lines) + "\n"
