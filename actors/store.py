"""SQL of the actors process that is not an execution's life: webhook secrets and attempts.

An execution's transitions (claim, heartbeat, finish, promotion) live in
`runtime.executions`; the names the actor's run uses are re-exported here.
"""

from __future__ import annotations

import uuid

from runtime import db
from runtime.executions import Begun, Outcome, begin, ended, finish, heartbeat

__all__ = [
    "Begun",
    "Outcome",
    "begin",
    "ended",
    "finish",
    "heartbeat",
    "record_webhook_attempt",
    "webhook_secret",
]


async def webhook_secret(tenant_id: uuid.UUID, new_secret: str) -> str:
    """The tenant's stored (encrypted) webhook secret; `new_secret` is stored if it has none."""
    async with db.scope(tenant_id):
        await db.execute(
            "UPDATE tenants SET webhook_secret = $2 WHERE id = $1 AND webhook_secret IS NULL",
            tenant_id,
            new_secret,
        )
        row = await db.fetchrow("SELECT webhook_secret FROM tenants WHERE id = $1", tenant_id)
    if row is None:
        raise LookupError(f"tenant {tenant_id} vanished while its webhook was being signed")
    return row["webhook_secret"]


async def record_webhook_attempt(
    tenant_id: uuid.UUID, execution_id: uuid.UUID, url: str, status_code: int | None, error: str | None
) -> int:
    """Log one delivery attempt; returns its number (attempts of earlier deliveries count)."""
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "INSERT INTO webhook_deliveries (id, tenant_id, execution_id, url, attempt, status_code, "
            "error, created_at) SELECT $1, $2, $3, $4, COALESCE(max(attempt), 0) + 1, $5, $6, now() "
            "FROM webhook_deliveries WHERE execution_id = $3 AND tenant_id = $2 RETURNING attempt",
            uuid.uuid4(),
            tenant_id,
            execution_id,
            url,
            status_code,
            error,
        )
    assert row is not None  # INSERT ... SELECT over an aggregate always yields one row
    return row["attempt"]
