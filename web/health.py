"""`/health/live`, `/health/ready` and `/metrics` (public: no data of any tenant)."""

from __future__ import annotations

import asyncio

from litestar import Response, get
from litestar.datastructures import State

from runtime import db, metrics

PUBLIC = {"exclude_from_auth": True}


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


def _pool_size() -> float:
    pool = db.APP_DB.pool
    return pool.get_size() if pool else 0


metrics.register_gauges(
    "db_pool",
    lambda: {("hirebuddha_db_pool_size", "Connections in this process's pool"): [({}, _pool_size())]},
)


@get("/metrics", opt=PUBLIC, tags=["health"], media_type="text/plain; version=0.0.4")
async def prometheus_metrics() -> Response[bytes]:
    """Prometheus text of this process (docs/operations.md "Metrics"); no tenant's data."""
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
