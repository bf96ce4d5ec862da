"""`/admin/domain-claims`: the app admin verifies tenants' claims on email domains.

Here an app admin looks up the TXT record `_hirebuddha-challenge.<domain>` and, when it holds
the claim's token, verifies the claim. In production a DNS resolver does that lookup
(docs/identity.md "Domain claims"); DNS is out of reach of the test machines, so the step
is a person's. Only one tenant can hold a verified claim on a domain.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.exceptions import ClientException, NotFoundException

from runtime import db
from web import audit
from web.auth.guards import requires_app_admin
from web.auth.identity import Principal
from web.tenant.invitations import CLAIM_SELECT, DomainClaimOut, claim_out


class DomainClaimAdmin:
    """Every tenant's domain claims (system scope: the app admin's view is platform-wide)."""

    def __init__(self, me: Principal, ip: str | None = None) -> None:
        self.me, self.ip = me, ip

    async def pending(self) -> list[dict[str, Any]]:
        """Claims still to verify, oldest first."""
        async with db.scope(system=True):
            return [
                dict(r)
                for r in await db.fetch(CLAIM_SELECT + " WHERE verified_at IS NULL ORDER BY created_at")
            ]

    async def verify(self, claim_id: uuid.UUID) -> dict[str, Any]:
        """Mark a claim verified (409 when another tenant holds the domain already)."""
        async with db.scope(system=True):
            row = await db.fetchrow(CLAIM_SELECT + " WHERE id = $1", claim_id)
            if row is None:
                raise NotFoundException("Domain claim not found.")
            holder = await db.fetchrow(
                "SELECT tenant_id FROM domain_claims WHERE domain = $1 AND verified_at IS NOT NULL",
                row["domain"],
            )
            if holder is not None and holder["tenant_id"] != row["tenant_id"]:
                raise ClientException("Another workspace holds this domain.", status_code=409)
            updated = await db.fetchrow(
                "UPDATE domain_claims SET verified_at = COALESCE(verified_at, now()) WHERE id = $1 "
                "RETURNING id, tenant_id, domain, token, verified_at, created_at",
                claim_id,
            )
            assert updated is not None  # the row was there a moment ago, in this transaction
            await audit.record(
                "domain.verify",
                tenant_id=row["tenant_id"],
                actor_id=self.me.id,
                target_id=claim_id,
                ip=self.ip,
                domain=row["domain"],
            )
            return dict(updated)


async def provide_domain_admin(me: Principal, ip: str | None) -> DomainClaimAdmin:
    """The app admin's view of domain claims."""
    return DomainClaimAdmin(me, ip)


class DomainClaimAdminController(Controller):
    """Verify tenants' domain claims."""

    path = "/admin/domain-claims"
    guards = [requires_app_admin]
    dependencies = {"domains": Provide(provide_domain_admin)}
    tags = ["admin"]

    @get("/")
    async def pending(self, domains: DomainClaimAdmin) -> list[DomainClaimOut]:
        """Claims waiting for verification."""
        return [claim_out(r) for r in await domains.pending()]

    @post("/{claim_id:uuid}/verify", status_code=200)
    async def verify(self, domains: DomainClaimAdmin, claim_id: uuid.UUID) -> DomainClaimOut:
        """The TXT record holds the token: sign-ups from the domain now join the tenant."""
        return claim_out(await domains.verify(claim_id))
