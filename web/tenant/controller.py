"""`/tenant`, `/tenant/users`, `/tenant/api-keys`: a tenant admin runs its own workspace."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.exceptions import ClientException

from runtime import db
from runtime.tables import ApiKey, Tenant, User
from web import audit
from web.auth import repository as identities
from web.auth import service as auth
from web.auth.guards import requires_tenant_admin
from web.auth.identity import Principal
from web.auth.schemas import TenantOut, UserOut
from web.auth.tokens import new_api_key, sha256_hex
from web.deps import client_ip, found, principal, utcnow
from web.tenant.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    TenantPatch,
    UserCreate,
    UserPatch,
)

KEY_COLUMNS = (
    ApiKey.id,
    ApiKey.name,
    ApiKey.prefix,
    ApiKey.created_at,
    ApiKey.last_used_at,
    ApiKey.revoked_at,
)


class TenantController(Controller):
    """The caller's own tenant; every query filtered by tenant in code and by RLS."""

    path = "/tenant"
    guards = [requires_tenant_admin]
    tags = ["tenant"]

    @get("/")
    async def get_tenant(self, request: Request) -> TenantOut:
        """The caller's workspace."""
        me = principal(request)
        async with db.scope(me.tenant_id):
            row = await Tenant.select(*identities.TENANT_COLUMNS).where(Tenant.id == me.tenant_id).first()
        return msgspec.convert(found(row, "Tenant"), TenantOut)

    @patch("/")
    async def patch_tenant(self, request: Request, data: TenantPatch) -> TenantOut:
        """Rename the workspace."""
        me = principal(request)
        async with db.scope(me.tenant_id):
            if data.name is not msgspec.UNSET:
                await Tenant.update({Tenant.name: data.name, Tenant.updated_at: utcnow()}).where(
                    Tenant.id == me.tenant_id
                )
                await audit.record("tenant.update", tenant_id=me.tenant_id, actor_id=me.id)
            row = await Tenant.select(*identities.TENANT_COLUMNS).where(Tenant.id == me.tenant_id).first()
        return msgspec.convert(found(row, "Tenant"), TenantOut)

    @get("/users")
    async def list_users(self, request: Request) -> list[UserOut]:
        """Everyone in the workspace."""
        me = principal(request)
        async with db.scope(me.tenant_id):
            rows = (
                await User.select(*identities.USER_COLUMNS)
                .where(User.tenant == me.tenant_id)
                .order_by(User.created_at)
            )
        return msgspec.convert(rows, list[UserOut])

    @post("/users", status_code=201)
    async def create_user(self, request: Request, data: UserCreate) -> UserOut:
        """Add a user (tenant_admin or user) with an initial password."""
        me = principal(request)
        async with db.scope(me.tenant_id):
            user = await auth.create_user(
                tenant_id=me.tenant_id,
                email=data.email,
                password=data.password,
                full_name=data.full_name,
                role=data.role,
            )
            await audit.record(
                "tenant.user_create",
                tenant_id=me.tenant_id,
                actor_id=me.id,
                target_type="user",
                target_id=user["id"],
                ip=client_ip(request),
            )
        return msgspec.convert(user, UserOut)

    @patch("/users/{user_id:uuid}")
    async def patch_user(self, request: Request, user_id: uuid.UUID, data: UserPatch) -> UserOut:
        """Change name, role or active flag; deactivating revokes the user's sessions."""
        return msgspec.convert(await _update_user(principal(request), user_id, data), UserOut)

    @delete("/users/{user_id:uuid}", status_code=204)
    async def deactivate_user(self, request: Request, user_id: uuid.UUID) -> None:
        """Deactivate a user (history is kept); their sessions end at once."""
        await _update_user(principal(request), user_id, UserPatch(is_active=False))

    @get("/api-keys")
    async def list_api_keys(self, request: Request) -> list[ApiKeyOut]:
        """The workspace's API keys, without the keys themselves."""
        me = principal(request)
        async with db.scope(me.tenant_id):
            rows = (
                await ApiKey.select(*KEY_COLUMNS)
                .where(ApiKey.tenant == me.tenant_id)
                .order_by(ApiKey.created_at)
            )
        return msgspec.convert(rows, list[ApiKeyOut])

    @post("/api-keys", status_code=201)
    async def create_api_key(self, request: Request, data: ApiKeyCreate) -> ApiKeyCreated:
        """A new key for external systems; the key is in this answer only, stored hashed."""
        me = principal(request)
        key, prefix = new_api_key()
        row = ApiKey(
            tenant=me.tenant_id, name=data.name, prefix=prefix, key_hash=sha256_hex(key), created_by=me.id
        )
        async with db.scope(me.tenant_id):
            await ApiKey.insert(row)
            await audit.record(
                "tenant.api_key_create",
                tenant_id=me.tenant_id,
                actor_id=me.id,
                target_type="api_key",
                target_id=row.id,
                prefix=prefix,
            )
        return ApiKeyCreated(id=row.id, name=data.name, prefix=prefix, key=key, created_at=row.created_at)

    @delete("/api-keys/{key_id:uuid}", status_code=204)
    async def revoke_api_key(self, request: Request, key_id: uuid.UUID) -> None:
        """Revoke a key; it stops working at once."""
        me = principal(request)
        async with db.scope(me.tenant_id):
            where = (ApiKey.id == key_id) & (ApiKey.tenant == me.tenant_id)
            found(await ApiKey.select(ApiKey.id).where(where).first(), "API key")
            await ApiKey.update({ApiKey.revoked_at: utcnow()}).where(where & ApiKey.revoked_at.is_null())
            await audit.record(
                "tenant.api_key_revoke",
                tenant_id=me.tenant_id,
                actor_id=me.id,
                target_type="api_key",
                target_id=key_id,
            )


async def _update_user(me: Principal, user_id: uuid.UUID, data: UserPatch) -> dict:
    if user_id == me.id and (data.is_active is False or data.role == "user"):
        raise ClientException("You cannot deactivate or demote yourself.", status_code=409)
    fields = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    async with db.scope(me.tenant_id):
        where = (User.id == user_id) & (User.tenant == me.tenant_id)
        found(await User.select(User.id).where(where).first(), "User")
        if fields:
            changes = {getattr(User, k): v for k, v in fields.items()}
            await User.update({**changes, User.updated_at: utcnow()}).where(where)
        if data.is_active is False or data.role is not msgspec.UNSET:
            await identities.revoke_user_tokens([user_id])
        await audit.record(
            "tenant.user_update",
            tenant_id=me.tenant_id,
            actor_id=me.id,
            target_type="user",
            target_id=user_id,
            fields=sorted(fields),
        )
        return identities.one(await User.select(*identities.USER_COLUMNS).where(where).first())
