"""`/tenant/security`: a tenant admin's sign-in rules for its members (require MFA)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, put
from litestar.di import Provide

from runtime import db
from web import audit
from web.auth import repository as identities
from web.auth.guards import requires_tenant_admin
from web.auth.identity import Principal
from web.auth.schemas import TenantOut


class SecurityIn(msgspec.Struct, forbid_unknown_fields=True):
    require_mfa: bool


class TenantSecurityService:
    """The caller's tenant's sign-in rules."""

    def __init__(self, me: Principal, ip: str | None = None) -> None:
        self.me, self.ip = me, ip

    async def require_mfa(self, required: bool) -> dict[str, Any]:
        """From the next sign-in (and refresh) on, members without a second factor enrol first."""
        async with db.scope(self.me.tenant_id):
            await db.execute(
                "UPDATE tenants SET require_mfa = $2, updated_at = now() WHERE id = $1",
                self.me.tenant_id,
                required,
            )
            await audit.record(
                "tenant.require_mfa",
                tenant_id=self.me.tenant_id,
                actor_id=self.me.id,
                ip=self.ip,
                required=required,
            )
            return identities.one(await identities.tenant_by_id(self.me.tenant_id))


async def provide_security_service(me: Principal, ip: str | None) -> TenantSecurityService:
    """The caller's tenant's sign-in rules."""
    return TenantSecurityService(me, ip)


class TenantSecurityController(Controller):
    """Sign-in rules of the caller's tenant."""

    path = "/tenant/security"
    guards = [requires_tenant_admin]
    dependencies = {"security": Provide(provide_security_service)}
    tags = ["tenant"]

    @put("/")
    async def put_security(self, security: TenantSecurityService, data: SecurityIn) -> TenantOut:
        """Require a second factor of every member (app and partner admins are not members)."""
        return msgspec.convert(await security.require_mfa(data.require_mfa), TenantOut)
