"""The audit trail: one row per admin or security-relevant action, written in the caller's
transaction (so an action and its row commit together), append-only like the ledger.

`record` is what every admin route calls; `controller.py` serves the trail to app admins
(`GET /admin/audit`, every tenant and the platform) and tenant admins (`GET /tenant/audit`,
their own tenant), through `service.py` (filters, cursor) and `repository.py` (SQL).
"""

from __future__ import annotations

import uuid
from typing import Any

from runtime.tables import AuditLog


async def record(
    action: str,
    *,
    tenant_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    target_type: str | None = None,
    target_id: uuid.UUID | None = None,
    ip: str | None = None,
    **details: Any,
) -> None:
    """Append an audit row; call inside the `db.scope` of the change it describes."""
    await AuditLog.insert(
        AuditLog(
            tenant=tenant_id,
            actor_user_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            ip=ip,
            details=details,
        )
    )
