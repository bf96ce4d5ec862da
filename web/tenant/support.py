"""`/tenant/support-access`: a tenant admin lets its partner read its agents and sessions for
a while (000 §4.2), and can take it back at any time. The partner's reads are in
web/partner/support.py, each one audited. docs/identity.md "Partner support access".
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import Provide
from litestar.exceptions import ClientException, NotFoundException

from runtime import db
from runtime.tables import SupportGrant
from web import audit
from web.auth import repository as identities
from web.auth.guards import requires_tenant_admin
from web.auth.identity import Principal

MAX_HOURS = 24 * 30


class GrantIn(msgspec.Struct, forbid_unknown_fields=True):
    hours: Annotated[int, msgspec.Meta(ge=1, le=MAX_HOURS)] = 24


class GrantOut(msgspec.Struct):
    id: uuid.UUID
    tenant_id: uuid.UUID
    partner_id: uuid.UUID
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    created_at: dt.datetime
    active: bool


G = SupportGrant
COLUMNS = (
    G.id,
    G.tenant.as_alias("tenant_id"),
    G.partner.as_alias("partner_id"),
    G.expires_at,
    G.revoked_at,
    G.created_at,
)


def grant_out(row: dict[str, Any]) -> GrantOut:
    """A grant with whether it is in force now."""
    now = dt.datetime.now(dt.UTC)
    return GrantOut(**row, active=row["revoked_at"] is None and row["expires_at"] > now)


class SupportAccessService:
    """The caller's tenant's grants to its partner."""

    def __init__(self, me: Principal, ip: str | None = None) -> None:
        self.me, self.ip, self.tenant_id = me, ip, me.tenant_id

    async def grants(self) -> list[dict[str, Any]]:
        """Every grant, newest first."""
        async with db.scope(self.tenant_id):
            return (
                await G.select(*COLUMNS)
                .where(G.tenant == self.tenant_id)
                .order_by(G.created_at, ascending=False)
            )

    async def grant(self, hours: int) -> dict[str, Any]:
        """Let the partner read agents and sessions for `hours` (409 without a partner)."""
        async with db.scope(self.tenant_id):
            tenant = identities.one(await identities.tenant_by_id(self.tenant_id))
            if tenant["partner_id"] is None:
                raise ClientException("This workspace has no partner to grant access to.", status_code=409)
            row = G(
                tenant=self.tenant_id,
                partner=tenant["partner_id"],
                granted_by=self.me.id,
                expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours),
            )
            await G.insert(row)
            await audit.record(
                "support.grant",
                tenant_id=self.tenant_id,
                actor_id=self.me.id,
                target_id=row.id,
                ip=self.ip,
                hours=hours,
                partner_id=str(tenant["partner_id"]),
            )
            return identities.one(await G.select(*COLUMNS).where(G.id == row.id).first())

    async def revoke(self, grant_id: uuid.UUID) -> None:
        """End a grant now (404 when there is no live one)."""
        async with db.scope(self.tenant_id):
            row = await db.fetchrow(
                "UPDATE support_grants SET revoked_at = now(), revoked_by = $3 WHERE id = $1 "
                "AND tenant_id = $2 AND revoked_at IS NULL AND expires_at > now() RETURNING id",
                grant_id,
                self.tenant_id,
                self.me.id,
            )
            if row is None:
                raise NotFoundException("Live support grant not found.")
            await audit.record(
                "support.revoke",
                tenant_id=self.tenant_id,
                actor_id=self.me.id,
                target_id=grant_id,
                ip=self.ip,
            )


async def provide_support_access(me: Principal, ip: str | None) -> SupportAccessService:
    """The caller's tenant's support grants."""
    return SupportAccessService(me, ip)


class SupportAccessController(Controller):
    """Grant, list and revoke the partner's support access."""

    path = "/tenant/support-access"
    guards = [requires_tenant_admin]
    dependencies = {"support": Provide(provide_support_access)}
    tags = ["tenant"]

    @get("/")
    async def list_grants(self, support: SupportAccessService) -> list[GrantOut]:
        """Every grant, with whether it is in force."""
        return [grant_out(r) for r in await support.grants()]

    @post("/", status_code=201)
    async def grant(self, support: SupportAccessService, data: GrantIn) -> GrantOut:
        """Let the partner read agents and sessions for `hours` (1 to 720)."""
        return grant_out(await support.grant(data.hours))

    @delete("/{grant_id:uuid}", status_code=204)
    async def revoke(self, support: SupportAccessService, grant_id: uuid.UUID) -> None:
        """End a grant now."""
        await support.revoke(grant_id)
