"""Tenant lifecycle shared by partner and app admins: create with a first admin, suspend, resume.

Both run inside the caller's scope (a partner's view or the system's) and move the
transaction to the tenant's own scope for the rows that belong to it.
"""

from __future__ import annotations

import uuid
from typing import Any

from runtime import db
from web import audit
from web.auth import repository as identities
from web.auth import service as auth
from web.deps import utcnow
from web.tenant import repository as repo


async def create_tenant(
    *,
    name: str,
    partner_id: uuid.UUID | None,
    admin_email: str,
    admin_password: str,
    admin_full_name: str,
    actor_id: uuid.UUID,
) -> dict[str, Any]:
    """A tenant and its first tenant_admin, in the caller's (partner or system) scope."""
    tenant_id = uuid.uuid4()
    await identities.insert_tenant(tenant_id, name, partner_id)
    # The admin user is a row of the new tenant: write it under that tenant's own scope.
    await db.rescope(tenant_id, partner_id=partner_id)
    user = await auth.create_user(
        tenant_id=tenant_id,
        email=admin_email,
        password=admin_password,
        full_name=admin_full_name,
        role="tenant_admin",
    )
    await audit.record(
        "tenant.create", tenant_id=tenant_id, actor_id=actor_id, target_type="tenant", target_id=tenant_id
    )
    row = identities.one(await identities.tenant_by_id(tenant_id))
    return {**row, "admin_user_id": user["id"]}


async def set_status(tenant_id: uuid.UUID, status: str, actor_id: uuid.UUID) -> None:
    """Suspend or resume a tenant visible in the current scope; suspension ends sessions.

    Leaves the transaction scoped to that tenant; callers rescope if they read on.
    """
    await repo.update(tenant_id, {"status": status}, utcnow())
    # Token revocation and the audit row belong to the tenant: write them under its scope.
    await db.rescope(tenant_id)
    if status == "suspended":
        await identities.revoke_tenant_tokens(tenant_id)
    await audit.record(
        f"tenant.{'suspend' if status == 'suspended' else 'resume'}",
        tenant_id=tenant_id,
        actor_id=actor_id,
        target_type="tenant",
        target_id=tenant_id,
    )
