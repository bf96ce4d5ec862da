"""A tenant admin runs its own workspace: the tenant's name, users, API keys, webhook secret."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import msgspec
from litestar.exceptions import ClientException, NotFoundException

from runtime import crypto, db
from runtime.tables import ApiKey
from web import audit
from web.auth import repository as identities
from web.auth import service as auth
from web.auth.identity import Principal
from web.auth.tokens import new_api_key, sha256_hex
from web.deps import found, utcnow
from web.tenant import repository as repo
from web.tenant.schemas import UserCreate, UserPatch


def _set(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body gave (UNSET ones left out)."""
    return {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}


def new_webhook_secret() -> str:
    """A fresh signing secret."""
    return "whsec_" + secrets.token_urlsafe(32)


class TenantService:
    """The caller's own tenant; every query runs in its scope and filters by it."""

    def __init__(self, me: Principal, ip: str | None = None) -> None:
        self.me, self.ip, self.tenant_id = me, ip, me.tenant_id

    async def _audit(self, action: str, **details: Any) -> None:
        await audit.record(action, tenant_id=self.tenant_id, actor_id=self.me.id, **details)

    # --- the workspace ---------------------------------------------------------------------

    async def workspace(self) -> dict[str, Any]:
        """The caller's tenant."""
        async with db.scope(self.tenant_id):
            return found(await identities.tenant_by_id(self.tenant_id), "Tenant")

    async def rename(self, name: str | msgspec.UnsetType) -> dict[str, Any]:
        """Rename the workspace (nothing when no name is given)."""
        async with db.scope(self.tenant_id):
            if name is not msgspec.UNSET:
                await repo.update(self.tenant_id, {"name": name}, utcnow())
                await self._audit("tenant.update")
            return found(await identities.tenant_by_id(self.tenant_id), "Tenant")

    # --- users -----------------------------------------------------------------------------

    async def users(self) -> list[dict[str, Any]]:
        """Everyone in the workspace."""
        async with db.scope(self.tenant_id):
            return await repo.users(self.tenant_id)

    async def add_user(self, data: UserCreate) -> dict[str, Any]:
        """A new user with an initial password."""
        async with db.scope(self.tenant_id):
            user = await auth.create_user(
                tenant_id=self.tenant_id,
                email=data.email,
                password=data.password,
                full_name=data.full_name,
                role=data.role,
            )
            await self._audit("tenant.user_create", target_type="user", target_id=user["id"], ip=self.ip)
        return user

    async def update_user(self, user_id: uuid.UUID, data: UserPatch) -> dict[str, Any]:
        """Change name, role or active flag; deactivating or a role change ends their sessions."""
        if user_id == self.me.id and (data.is_active is False or data.role == "user"):
            raise ClientException("You cannot deactivate or demote yourself.", status_code=409)
        fields = _set(data)
        async with db.scope(self.tenant_id):
            found(await repo.user(self.tenant_id, user_id), "User")
            await repo.update_user(self.tenant_id, user_id, fields, utcnow())
            if data.is_active is False or data.role is not msgspec.UNSET:
                await identities.revoke_user_tokens([user_id])
            await self._audit(
                "tenant.user_update", target_type="user", target_id=user_id, fields=sorted(fields)
            )
            return identities.one(await repo.user(self.tenant_id, user_id))

    # --- API keys --------------------------------------------------------------------------

    async def api_keys(self) -> list[dict[str, Any]]:
        """The workspace's keys, without the keys themselves."""
        async with db.scope(self.tenant_id):
            return await repo.api_keys(self.tenant_id)

    async def create_api_key(self, name: str) -> tuple[ApiKey, str]:
        """A new key (its row and the key itself, which is stored only as a hash)."""
        key, prefix = new_api_key()
        row = ApiKey(
            tenant=self.tenant_id, name=name, prefix=prefix, key_hash=sha256_hex(key), created_by=self.me.id
        )
        async with db.scope(self.tenant_id):
            await repo.insert_api_key(row)
            await self._audit("tenant.api_key_create", target_type="api_key", target_id=row.id, prefix=prefix)
        return row, key

    async def revoke_api_key(self, key_id: uuid.UUID) -> None:
        """Revoke a key; it stops working at once."""
        async with db.scope(self.tenant_id):
            if not await repo.revoke_api_key(self.tenant_id, key_id, utcnow()):
                raise NotFoundException("API key not found.")
            await self._audit("tenant.api_key_revoke", target_type="api_key", target_id=key_id)

    # --- webhook secret --------------------------------------------------------------------

    async def webhook_secret(self) -> str:
        """The secret that signs the tenant's webhooks (created now if it has none)."""
        async with db.scope(self.tenant_id):
            stored = await repo.webhook_secret(self.tenant_id, crypto.encrypt(new_webhook_secret()))
        if stored is None:  # the caller's own tenant: only if it vanished mid-request
            raise NotFoundException("Tenant not found.")
        return crypto.decrypt(stored)

    async def rotate_webhook_secret(self) -> str:
        """Replace the secret; deliveries from now on are signed with the new one."""
        secret = new_webhook_secret()
        async with db.scope(self.tenant_id):
            await repo.set_webhook_secret(self.tenant_id, crypto.encrypt(secret))
            await audit.record(
                "tenant.webhook_secret_rotate",
                tenant_id=self.tenant_id,
                actor_id=self.me.id,
                target_type="tenant",
                target_id=self.tenant_id,
            )
        return secret
