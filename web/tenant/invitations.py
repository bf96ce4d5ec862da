"""`/tenant/invitations` and `/tenant/domains`: a tenant admin brings people in.

- An **invitation** is a single-use link mailed to one address; it expires (7 days), sets
  the role, and accepting it (`POST /auth/invitations/accept`, web/auth/recovery.py)
  creates a verified account in the tenant: the link proved the address.
- A **domain claim** says "sign-ups from @example.com belong to us". It counts only once
  verified: the tenant publishes the claim's token as a DNS TXT record and an app admin
  verifies it (`/admin/domain-claims`, docs/identity.md "Domain claims").

docs/identity.md "Invitations".
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import Provide
from litestar.exceptions import ClientException, NotFoundException

from runtime import db
from web import audit
from web.auth import links
from web.auth import repository as identities
from web.auth.guards import requires_tenant_admin
from web.auth.identity import Principal
from web.auth.service import PUBLIC_MAIL_DOMAINS
from web.schemas import Email

TXT_PREFIX = "_hirebuddha-challenge"
"""Production: the claim's token is published as TXT at `_hirebuddha-challenge.<domain>`."""

Domain = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=253,
        pattern=r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$",
    ),
]


class InvitationIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    role: Literal["tenant_admin", "user"] = "user"


class InvitationOut(msgspec.Struct):
    id: uuid.UUID
    email: str
    role: str
    status: str  # pending | accepted | expired | revoked
    expires_at: dt.datetime
    created_at: dt.datetime


class DomainIn(msgspec.Struct, forbid_unknown_fields=True):
    domain: Domain


class DomainClaimOut(msgspec.Struct):
    id: uuid.UUID
    tenant_id: uuid.UUID
    domain: str
    txt_name: str
    txt_value: str
    verified_at: dt.datetime | None
    created_at: dt.datetime


def claim_out(row: dict[str, Any]) -> DomainClaimOut:
    """A claim as the API shows it: the TXT record to publish included."""
    return DomainClaimOut(
        id=row["id"],
        tenant_id=row["tenant_id"],
        domain=row["domain"],
        txt_name=f"{TXT_PREFIX}.{row['domain']}",
        txt_value=row["token"],
        verified_at=row["verified_at"],
        created_at=row["created_at"],
    )


_INVITATION = (
    "SELECT id, email, role, expires_at, created_at, CASE WHEN used_at IS NOT NULL THEN 'accepted' "
    "WHEN revoked_at IS NOT NULL THEN 'revoked' WHEN expires_at <= now() THEN 'expired' "
    "ELSE 'pending' END AS status FROM account_tokens WHERE tenant_id = $1 AND purpose = 'invitation'"
)
CLAIM_SELECT = "SELECT id, tenant_id, domain, token, verified_at, created_at FROM domain_claims"


class InvitationService:
    """Invitations and domain claims of the caller's tenant, in its scope."""

    def __init__(self, me: Principal, ip: str | None = None) -> None:
        self.me, self.ip, self.tenant_id = me, ip, me.tenant_id

    async def _audit(self, action: str, target_id: uuid.UUID, **details: Any) -> None:
        await audit.record(
            action, tenant_id=self.tenant_id, actor_id=self.me.id, target_id=target_id, ip=self.ip, **details
        )

    async def invitations(self) -> list[dict[str, Any]]:
        """Every invitation of the tenant, newest first."""
        async with db.scope(self.tenant_id):
            return [
                dict(r) for r in await db.fetch(_INVITATION + " ORDER BY created_at DESC", self.tenant_id)
            ]

    async def invite(self, email: str, role: str) -> dict[str, Any]:
        """Mail a single-use invitation; an address that has an account already is a 409."""
        # Addresses are unique across tenants: whether one is taken is a cross-tenant question.
        async with db.scope(system=True):
            if await identities.login_row(email) is not None:
                raise ClientException("This address already has an account.", status_code=409)
        async with db.scope(self.tenant_id):
            tenant = identities.one(await identities.tenant_by_id(self.tenant_id))
            token, invitation_id = await links.issue(
                "invitation", tenant_id=self.tenant_id, email=email, role=role, created_by=self.me.id
            )
            await self._audit("invitation.create", invitation_id, role=role)
            row = await db.fetchrow(_INVITATION + " AND id = $2", self.tenant_id, invitation_id)
            assert row is not None  # written just above, in this transaction
        links.mail_later(
            email.lower(),
            f"You are invited to {tenant['name']} on Hirebuddha",
            f"You are invited to join the workspace {tenant['name']} as {role}. Accept here:\n\n"
            f"{links.url('invitation', token)}\n\nThe link works once and for 7 days.\n",
            tenant_id=self.tenant_id,
        )
        return dict(row)

    async def revoke(self, invitation_id: uuid.UUID) -> None:
        """Withdraw a pending invitation (404 when there is none)."""
        async with db.scope(self.tenant_id):
            row = await db.fetchrow(
                "UPDATE account_tokens SET revoked_at = now() WHERE id = $1 AND tenant_id = $2 "
                "AND purpose = 'invitation' AND used_at IS NULL AND revoked_at IS NULL RETURNING id",
                invitation_id,
                self.tenant_id,
            )
            if row is None:
                raise NotFoundException("Pending invitation not found.")
            await self._audit("invitation.revoke", invitation_id)

    async def claims(self) -> list[dict[str, Any]]:
        """The tenant's domain claims."""
        async with db.scope(self.tenant_id):
            return [
                dict(r)
                for r in await db.fetch(
                    CLAIM_SELECT + " WHERE tenant_id = $1 ORDER BY domain", self.tenant_id
                )
            ]

    async def claim(self, domain: str) -> dict[str, Any]:
        """A pending claim with the token to publish; public mail domains cannot be claimed."""
        domain = domain.lower()
        if domain in PUBLIC_MAIL_DOMAINS:
            raise ClientException(f"{domain} is a public mail service; it cannot be claimed.")
        async with db.scope(self.tenant_id):
            row = await db.fetchrow(
                "INSERT INTO domain_claims (tenant_id, domain, token, created_by) VALUES ($1, $2, $3, $4) "
                "RETURNING id, tenant_id, domain, token, verified_at, created_at",
                self.tenant_id,
                domain,
                "hirebuddha-verification=" + secrets.token_hex(16),
                self.me.id,
            )
            assert row is not None  # INSERT ... RETURNING
            await self._audit("domain.claim", row["id"], domain=domain)
            return dict(row)

    async def withdraw(self, claim_id: uuid.UUID) -> None:
        """Drop a claim: sign-ups from the domain create their own workspaces again."""
        async with db.scope(self.tenant_id):
            row = await db.fetchrow(
                "DELETE FROM domain_claims WHERE id = $1 AND tenant_id = $2 RETURNING domain",
                claim_id,
                self.tenant_id,
            )
            if row is None:
                raise NotFoundException("Domain claim not found.")
            await self._audit("domain.withdraw", claim_id, domain=row["domain"])


async def provide_invitation_service(me: Principal, ip: str | None) -> InvitationService:
    """The caller's tenant's invitations and domains."""
    return InvitationService(me, ip)


class InvitationController(Controller):
    """A tenant admin invites people and claims its email domains."""

    path = "/tenant"
    guards = [requires_tenant_admin]
    dependencies = {"invitations": Provide(provide_invitation_service)}
    tags = ["tenant"]

    @get("/invitations")
    async def list_invitations(self, invitations: InvitationService) -> list[InvitationOut]:
        """Every invitation, with its status."""
        return msgspec.convert(await invitations.invitations(), list[InvitationOut])

    @post("/invitations", status_code=201)
    async def invite(self, invitations: InvitationService, data: InvitationIn) -> InvitationOut:
        """Mail a single-use, 7-day invitation that sets the role."""
        return msgspec.convert(await invitations.invite(data.email, data.role), InvitationOut)

    @delete("/invitations/{invitation_id:uuid}", status_code=204)
    async def revoke_invitation(self, invitations: InvitationService, invitation_id: uuid.UUID) -> None:
        """Withdraw a pending invitation."""
        await invitations.revoke(invitation_id)

    @get("/domains")
    async def list_domains(self, invitations: InvitationService) -> list[DomainClaimOut]:
        """The tenant's domain claims and the TXT record each needs."""
        return [claim_out(r) for r in await invitations.claims()]

    @post("/domains", status_code=201)
    async def claim_domain(self, invitations: InvitationService, data: DomainIn) -> DomainClaimOut:
        """Claim a domain: publish the TXT record shown, then an app admin verifies it."""
        return claim_out(await invitations.claim(data.domain))

    @delete("/domains/{claim_id:uuid}", status_code=204)
    async def withdraw_domain(self, invitations: InvitationService, claim_id: uuid.UUID) -> None:
        """Drop a claim."""
        await invitations.withdraw(claim_id)
