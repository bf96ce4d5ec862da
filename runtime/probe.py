"""`python -m runtime.probe`: the exec probe of the actors and ledger containers (they serve
no HTTP). Exit 0 when PostgreSQL answers `SELECT 1` and RabbitMQ completes the AMQP
handshake within 5 s each, 1 otherwise (the failing dependency is printed). Kubernetes uses
it as readiness; liveness uses it with a long failure threshold (deploy/k8s/*.yaml), so a
process whose dependencies stay unreachable for minutes is restarted and reconnects fresh.
"""

from __future__ import annotations

import asyncio
import sys

import aio_pika
import asyncpg

from runtime.broker import broker_urls
from runtime.settings import get_settings

TIMEOUT_S = 5.0


async def check() -> list[str]:
    """Names of the dependencies that did not answer."""
    settings, failed = get_settings(), []
    try:
        conn = await asyncpg.connect(settings.db.app_url, timeout=TIMEOUT_S)
        await conn.fetchval("SELECT 1")
        await conn.close()
    except Exception as exc:  # any failure means not ready
        failed.append(f"postgresql: {type(exc).__name__}")
    try:
        amqp = await asyncio.wait_for(aio_pika.connect(broker_urls(settings.broker.url)[0]), TIMEOUT_S)
        await amqp.close()
    except Exception as exc:
        failed.append(f"rabbitmq: {type(exc).__name__}")
    return failed


def main() -> int:
    failed = asyncio.run(check())
    for line in failed:
        print(line, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
