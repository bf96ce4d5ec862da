"""Tenant lifecycle shared by partner and app admins: create with a first admin, suspend."""

from __future__ import annotations

import uuid
from typing import Any

from runtime import db
from runtime.tables import RefreshToken, Tenant
from web import audit
from web.auth import repository as identities
from web.auth import service as auth
from web.deps import utcnow


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
    await Tenant.insert(Tenant(id=tenant_id, name=name, partner=partner_id))
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
    row = identities.one(
        await Tenant.select(*identities.TENANT_COLUMNS).where(Tenant.id == tenant_id).first()
    )
    return {**row, "admin_user_id": user["id"]}


async def set_status(tenant_id: uuid.UUID, status: str, actor_id: uuid.UUID) -> None:
    """Suspend or resume a tenant visible in the current scope; suspension ends sessions.

    Leaves the transaction scoped to that tenant; callers rescope if they read on.
    """
    await Tenant.update({Tenant.status: status, Tenant.updated_at: utcnow()}).where(Tenant.id == tenant_id)
    # Token revocation and the audit row belong to the tenant: write them under its scope.
    await db.rescope(tenant_id)
    if status == "suspended":
        await RefreshToken.update({RefreshToken.revoked: True}).where(RefreshToken.tenant == tenant_id)
    await audit.record(
        f"tenant.{'suspend' if status == 'suspended' else 'resume'}",
        tenant_id=tenant_id,
        actor_id=actor_id,
        target_type="tenant",
        target_id=tenant_id,
    )
