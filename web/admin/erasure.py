"""`DELETE /admin/tenants/{id}`: the app admin erases a tenant (GDPR, docs/gdpr.md).

The caller confirms by repeating the workspace's name (`?confirm=`). The platform's own
workspaces (one with an app admin, a partner's house workspace) cannot be erased.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, delete
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.params import Parameter

from runtime import db
from web import audit
from web.auth.guards import requires_app_admin
from web.auth.identity import Principal
from web.deps import found
from web.tenant import erasure
from web.tenant import repository as tenants


class ErasureService:
    """Erase tenants; in the system scope, audited."""

    def __init__(self, me: Principal, ip: str | None = None) -> None:
        self.me, self.ip = me, ip

    async def erase(self, tenant_id: uuid.UUID, confirm: str) -> dict[str, Any]:
        """Delete the tenant's data but the ledger, invoices and audit trail (erasure doc)."""
        async with db.scope(system=True):
            tenant = found(await tenants.tenant(tenant_id), "Tenant")
            if tenant["status"] == "deleted":
                raise HTTPException(status_code=409, detail="This workspace is already deleted.")
            if confirm != tenant["name"]:
                raise HTTPException(status_code=400, detail="Confirm with the workspace's exact name.")
            platform = await db.fetchrow(
                "SELECT 1 FROM users WHERE tenant_id = $1 AND role IN ('app_admin', 'partner_admin') LIMIT 1",
                tenant_id,
            )
            if platform is not None:
                raise HTTPException(
                    status_code=409, detail="A workspace of platform or partner admins cannot be deleted."
                )
            deleted = await erasure.erase(tenant_id)
            await audit.record(
                "tenant.delete",
                tenant_id=tenant_id,
                actor_id=self.me.id,
                target_type="tenant",
                target_id=tenant_id,
                ip=self.ip,
                deleted={k: v for k, v in deleted.items() if v},
            )
        return {"tenant_id": tenant_id, "deleted": deleted}


async def provide_erasure_service(me: Principal, ip: str | None) -> ErasureService:
    """The app admin's erasure."""
    return ErasureService(me, ip)


Confirm = Annotated[str, Parameter(max_length=200, description="The workspace's exact name")]


class ErasureController(Controller):
    """Erase a tenant (GDPR)."""

    path = "/admin/tenants"
    guards = [requires_app_admin]
    dependencies = {"erasure_service": Provide(provide_erasure_service)}
    tags = ["admin"]

    @delete("/{tenant_id:uuid}", status_code=204)
    async def delete_tenant(
        self, erasure_service: ErasureService, tenant_id: uuid.UUID, confirm: Confirm
    ) -> None:
        """Delete every row of the tenant except ledger entries, invoices and the audit trail
        (anonymised: nothing left names a person); the tenant stays as a `deleted` tombstone."""
        await erasure_service.erase(tenant_id, confirm)
