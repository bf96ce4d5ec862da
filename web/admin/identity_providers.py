"""`/admin/identity-providers`: the app admin's OpenID providers (Google, Microsoft, others).

The client secret is encrypted at rest (runtime/crypto.py) and never returned; the issuer
URL passes the URL guard when saved and again on every fetch (web/auth/oidc.py).
docs/identity.md "OIDC".
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import Provide
from litestar.exceptions import NotFoundException

from runtime import crypto, db
from runtime.tables import IdentityProvider
from web import audit
from web.auth.guards import requires_app_admin
from web.auth.identity import Principal
from web.auth.oidc import redirect_uri
from web.schemas import Name
from web.security.urls import require_safe_url

Slug = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Url = Annotated[str, msgspec.Meta(min_length=8, max_length=500, pattern=r"^https?://[^\s\x00]+$")]
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")]
ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=r"^[^\x00]*$")]
Kind = Literal["google", "microsoft", "oidc"]


class IdentityProviderIn(msgspec.Struct, forbid_unknown_fields=True):
    slug: Slug
    display_name: Name
    issuer: Url
    client_id: ClientId
    client_secret: Secret
    kind: Kind = "oidc"
    enabled: bool = True


class IdentityProviderPatch(msgspec.Struct, forbid_unknown_fields=True):
    display_name: Name | msgspec.UnsetType = msgspec.UNSET
    issuer: Url | msgspec.UnsetType = msgspec.UNSET
    client_id: ClientId | msgspec.UnsetType = msgspec.UNSET
    client_secret: Secret | msgspec.UnsetType = msgspec.UNSET
    kind: Kind | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class IdentityProviderOut(msgspec.Struct):
    id: uuid.UUID
    slug: str
    display_name: str
    kind: str
    issuer: str
    client_id: str
    secret_hint: str
    enabled: bool
    redirect_uri: Annotated[str, msgspec.Meta(description="Register this callback at the provider.")]
    created_at: dt.datetime


P = IdentityProvider
_COLUMNS = (
    P.id,
    P.slug,
    P.display_name,
    P.kind,
    P.issuer,
    P.client_id,
    P.client_secret,
    P.enabled,
    P.created_at,
)


def provider_out(row: dict[str, Any]) -> IdentityProviderOut:
    """A provider as the admin sees it: the secret only as a hint."""
    return IdentityProviderOut(
        id=row["id"],
        slug=row["slug"],
        display_name=row["display_name"],
        kind=row["kind"],
        issuer=row["issuer"],
        client_id=row["client_id"],
        secret_hint=crypto.redact(crypto.decrypt(row["client_secret"])),
        enabled=row["enabled"],
        redirect_uri=redirect_uri(row["slug"]),
        created_at=row["created_at"],
    )


class IdentityProviderService:
    """Platform data (no tenant): plain scope, app admins only (the controller's guard)."""

    def __init__(self, me: Principal, ip: str | None = None) -> None:
        self.me, self.ip = me, ip

    async def _audit(self, action: str, provider_id: uuid.UUID, **details: Any) -> None:
        await audit.record(
            action, tenant_id=None, actor_id=self.me.id, target_id=provider_id, ip=self.ip, **details
        )

    async def all(self) -> list[dict[str, Any]]:
        """Every provider."""
        async with db.scope(system=True):  # platform data, the app admin's audit rows
            return await P.select(*_COLUMNS).order_by(P.slug)

    async def create(self, data: IdentityProviderIn) -> dict[str, Any]:
        """Add a provider (409 when the slug is taken)."""
        await require_safe_url(data.issuer, "issuer")
        async with db.scope(system=True):  # platform data, the app admin's audit rows
            provider = P(
                slug=data.slug,
                display_name=data.display_name,
                kind=data.kind,
                issuer=data.issuer,
                client_id=data.client_id,
                client_secret=crypto.encrypt(data.client_secret),
                enabled=data.enabled,
            )
            await P.insert(provider)
            row = await P.select(*_COLUMNS).where(P.id == provider.id).first()
            assert row is not None  # inserted just above
            await self._audit("identity_provider.create", row["id"], slug=data.slug)
            return dict(row)

    async def update(self, provider_id: uuid.UUID, data: IdentityProviderPatch) -> dict[str, Any]:
        """Change what was given; a new secret replaces the old one."""
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        if isinstance(changes.get("issuer"), str):
            await require_safe_url(changes["issuer"], "issuer")
        if "client_secret" in changes:
            changes["client_secret"] = crypto.encrypt(changes["client_secret"])
        async with db.scope(system=True):  # platform data, the app admin's audit rows
            await P.update(**changes, updated_at=dt.datetime.now(dt.UTC)).where(P.id == provider_id)
            row = await P.select(*_COLUMNS).where(P.id == provider_id).first()
            if row is None:
                raise NotFoundException("Identity provider not found.")
            await self._audit("identity_provider.update", provider_id, fields=sorted(changes))
            return dict(row)

    async def remove(self, provider_id: uuid.UUID) -> None:
        """Delete a provider and the links of users to it (they sign in with a password)."""
        async with db.scope(system=True):  # platform data, the app admin's audit rows
            row = await db.fetchrow(
                "DELETE FROM identity_providers WHERE id = $1 RETURNING slug", provider_id
            )
            if row is None:
                raise NotFoundException("Identity provider not found.")
            await P.delete().where(P.id == provider_id)
            await self._audit("identity_provider.delete", provider_id, slug=row["slug"])


async def provide_identity_providers(me: Principal, ip: str | None) -> IdentityProviderService:
    """The app admin's identity providers."""
    return IdentityProviderService(me, ip)


class IdentityProviderController(Controller):
    """Configure sign-in with Google, Microsoft and other OpenID providers."""

    path = "/admin/identity-providers"
    guards = [requires_app_admin]
    dependencies = {"providers": Provide(provide_identity_providers)}
    tags = ["admin"]

    @get("/")
    async def list_providers(self, providers: IdentityProviderService) -> list[IdentityProviderOut]:
        """Every provider, secrets as hints."""
        return [provider_out(r) for r in await providers.all()]

    @post("/", status_code=201)
    async def create_provider(
        self, providers: IdentityProviderService, data: IdentityProviderIn
    ) -> IdentityProviderOut:
        """Add a provider."""
        return provider_out(await providers.create(data))

    @patch("/{provider_id:uuid}")
    async def update_provider(
        self, providers: IdentityProviderService, provider_id: uuid.UUID, data: IdentityProviderPatch
    ) -> IdentityProviderOut:
        """Change a provider."""
        return provider_out(await providers.update(provider_id, data))

    @delete("/{provider_id:uuid}", status_code=204)
    async def delete_provider(self, providers: IdentityProviderService, provider_id: uuid.UUID) -> None:
        """Remove a provider."""
        await providers.remove(provider_id)
