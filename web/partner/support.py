"""`/partner/support/{tenant_id}/...`: a partner admin reads a tenant's agents and sessions
while that tenant's grant is in force (web/tenant/support.py). Every read checks the grant
and writes an audit row in the tenant's trail, in the same transaction as the read.
docs/identity.md "Partner support access".
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, get
from litestar.di import Provide
from litestar.exceptions import NotFoundException

from runtime import db
from web import audit
from web.agents import repository as agents
from web.agents.schemas import AgentOut
from web.auth.guards import requires_partner_admin
from web.auth.identity import Principal
from web.sessions import repository as sessions
from web.sessions.schemas import MessageOut, SessionOut
from web.tenant.support import COLUMNS, GrantOut, SupportGrant, grant_out

NO_GRANT = "No support access: no such workspace of yours, no grant, or the grant ended."


class SupportReadService:
    """Reads of one tenant's data by its partner, under a live grant."""

    def __init__(self, me: Principal, ip: str | None = None) -> None:
        self.me, self.ip = me, ip

    async def grants(self) -> list[dict[str, Any]]:
        """The grants the partner's tenants gave it (its read view)."""
        async with db.scope(partner_id=self.me.partner_id):
            return (
                await SupportGrant.select(*COLUMNS)
                .where(SupportGrant.partner == self.me.partner_id)
                .order_by(SupportGrant.created_at, ascending=False)
            )

    async def _enter(self, tenant_id: uuid.UUID, what: str, **details: Any) -> None:
        """In the tenant's scope: refuse without a live grant to this partner, else audit."""
        grant = await db.fetchrow(
            "SELECT g.id FROM support_grants g JOIN tenants t ON t.id = g.tenant_id "
            "WHERE g.tenant_id = $1 AND g.partner_id = $2 AND t.partner_id = $2 "
            "AND g.revoked_at IS NULL AND g.expires_at > now() ORDER BY g.expires_at DESC LIMIT 1",
            tenant_id,
            self.me.partner_id,
        )
        if grant is None:
            raise NotFoundException(NO_GRANT)  # like any tenant the caller may not see
        await audit.record(
            "support.read",
            tenant_id=tenant_id,
            actor_id=self.me.id,
            target_id=grant["id"],
            target_type="support_grant",
            ip=self.ip,
            read=what,
            partner_id=str(self.me.partner_id),
            **details,
        )

    # Each read enters the tenant's scope: the live grant (checked first, in the same
    # transaction) is why a partner may see this tenant's agents and conversations.
    async def agents(self, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
        """The tenant's agents."""
        async with db.scope(tenant_id):
            await self._enter(tenant_id, "agents")
            return await agents.agents(tenant_id)

    async def sessions(self, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
        """The tenant's newest sessions."""
        async with db.scope(tenant_id):
            await self._enter(tenant_id, "sessions")
            return await sessions.sessions(tenant_id, None)

    async def messages(self, tenant_id: uuid.UUID, session_id: uuid.UUID) -> list[dict[str, Any]]:
        """One session's messages."""
        async with db.scope(tenant_id):
            await self._enter(tenant_id, "messages", session_id=str(session_id))
            if await sessions.target_of(tenant_id, None, session_id) is None:
                raise NotFoundException("Session not found.")
            return await sessions.messages(tenant_id, session_id)


async def provide_support_reads(me: Principal, ip: str | None) -> SupportReadService:
    """The partner admin's support reads."""
    return SupportReadService(me, ip)


class PartnerSupportController(Controller):
    """Read-only support access to the tenants that granted it."""

    path = "/partner/support"
    guards = [requires_partner_admin]
    dependencies = {"support": Provide(provide_support_reads)}
    tags = ["partner"]

    @get("/grants")
    async def grants(self, support: SupportReadService) -> list[GrantOut]:
        """The grants the partner holds or held."""
        return [grant_out(r) for r in await support.grants()]

    @get("/{tenant_id:uuid}/agents")
    async def agents(self, support: SupportReadService, tenant_id: uuid.UUID) -> list[AgentOut]:
        """A granting tenant's agents (audited)."""
        return msgspec.convert(await support.agents(tenant_id), list[AgentOut])

    @get("/{tenant_id:uuid}/sessions")
    async def sessions(self, support: SupportReadService, tenant_id: uuid.UUID) -> list[SessionOut]:
        """A granting tenant's sessions (audited)."""
        return msgspec.convert(await support.sessions(tenant_id), list[SessionOut])

    @get("/{tenant_id:uuid}/sessions/{session_id:uuid}/messages")
    async def messages(
        self, support: SupportReadService, tenant_id: uuid.UUID, session_id: uuid.UUID
    ) -> list[MessageOut]:
        """One session's messages (audited)."""
        return msgspec.convert(await support.messages(tenant_id, session_id), list[MessageOut])
