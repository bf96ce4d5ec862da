"""`/tenant/*`: a tenant admin runs its own workspace (users, API keys, webhook secret, budget)."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, delete, get, patch, post, put
from litestar.di import Provide
from litestar.response import Stream

from web.auth.guards import requires_tenant_admin
from web.auth.identity import Principal
from web.auth.schemas import TenantOut, UserOut
from web.tenant import erasure
from web.tenant.budget import BudgetService
from web.tenant.deps import provide_budget_service, provide_limits_service, provide_tenant_service
from web.tenant.limits import LimitsService
from web.tenant.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    BudgetIn,
    BudgetOut,
    LimitsOut,
    TenantPatch,
    UserBudgetIn,
    UserCap,
    UserCreate,
    UserPatch,
    WebhookSecretOut,
)
from web.tenant.service import TenantService


class TenantController(Controller):
    """The caller's own tenant; every query filtered by tenant in code and by RLS."""

    path = "/tenant"
    guards = [requires_tenant_admin]
    dependencies = {"tenant_service": Provide(provide_tenant_service)}
    tags = ["tenant"]

    @get("/")
    async def get_tenant(self, tenant_service: TenantService) -> TenantOut:
        """The caller's workspace."""
        return msgspec.convert(await tenant_service.workspace(), TenantOut)

    @patch("/")
    async def patch_tenant(self, tenant_service: TenantService, data: TenantPatch) -> TenantOut:
        """Rename the workspace."""
        return msgspec.convert(await tenant_service.rename(data.name), TenantOut)

    @get("/users")
    async def list_users(self, tenant_service: TenantService) -> list[UserOut]:
        """Everyone in the workspace."""
        return msgspec.convert(await tenant_service.users(), list[UserOut])

    @post("/users", status_code=201)
    async def create_user(self, tenant_service: TenantService, data: UserCreate) -> UserOut:
        """Add a user (tenant_admin or user) with an initial password."""
        return msgspec.convert(await tenant_service.add_user(data), UserOut)

    @patch("/users/{user_id:uuid}")
    async def patch_user(self, tenant_service: TenantService, user_id: uuid.UUID, data: UserPatch) -> UserOut:
        """Change name, role or active flag; deactivating revokes the user's sessions."""
        return msgspec.convert(await tenant_service.update_user(user_id, data), UserOut)

    @delete("/users/{user_id:uuid}", status_code=204)
    async def deactivate_user(self, tenant_service: TenantService, user_id: uuid.UUID) -> None:
        """Deactivate a user (history is kept); their sessions end at once."""
        await tenant_service.update_user(user_id, UserPatch(is_active=False))

    @get("/api-keys")
    async def list_api_keys(self, tenant_service: TenantService) -> list[ApiKeyOut]:
        """The workspace's API keys, without the keys themselves."""
        return msgspec.convert(await tenant_service.api_keys(), list[ApiKeyOut])

    @post("/api-keys", status_code=201)
    async def create_api_key(self, tenant_service: TenantService, data: ApiKeyCreate) -> ApiKeyCreated:
        """A new key for external systems; the key is in this answer only, stored hashed."""
        row, key = await tenant_service.create_api_key(data.name)
        return ApiKeyCreated(id=row.id, name=row.name, prefix=row.prefix, key=key, created_at=row.created_at)

    @delete("/api-keys/{key_id:uuid}", status_code=204)
    async def revoke_api_key(self, tenant_service: TenantService, key_id: uuid.UUID) -> None:
        """Revoke a key; it stops working at once."""
        await tenant_service.revoke_api_key(key_id)


class WebhookSecretController(Controller):
    """Read and rotate the tenant's webhook signing secret."""

    path = "/tenant/webhook-secret"
    guards = [requires_tenant_admin]
    dependencies = {"tenant_service": Provide(provide_tenant_service)}
    tags = ["tenant"]

    @get("/")
    async def get_webhook_secret(self, tenant_service: TenantService) -> WebhookSecretOut:
        """The secret (created now if the tenant has none)."""
        return WebhookSecretOut(await tenant_service.webhook_secret())

    @post("/rotate", status_code=200)
    async def rotate_webhook_secret(self, tenant_service: TenantService) -> WebhookSecretOut:
        """Replace the secret; deliveries from now on are signed with the new one."""
        return WebhookSecretOut(await tenant_service.rotate_webhook_secret())


class BudgetController(Controller):
    """A tenant admin's monthly spend caps (tenant and per user)."""

    path = "/tenant"
    guards = [requires_tenant_admin]
    dependencies = {"budget_service": Provide(provide_budget_service)}
    tags = ["usage"]  # listed with usage in the API docs, as before it moved here

    @get("/budget")
    async def get_budget(self, budget_service: BudgetService) -> BudgetOut:
        """Caps, this month's spend and holds, prepaid credit."""
        return msgspec.convert(await budget_service.overview(), BudgetOut)

    @put("/budget")
    async def put_budget(self, budget_service: BudgetService, data: BudgetIn) -> BudgetOut:
        """Replace the tenant's monthly cap (null: none); set the listed users' caps."""
        return msgspec.convert(
            await budget_service.set_caps(data.monthly_cap, data.user_caps or []), BudgetOut
        )

    @put("/users/{user_id:uuid}/budget")
    async def put_user_budget(
        self, budget_service: BudgetService, user_id: uuid.UUID, data: UserBudgetIn
    ) -> UserCap:
        """Set or clear (null) one user's monthly cap."""
        await budget_service.set_user_cap(user_id, data.monthly_cap)
        return UserCap(user_id=user_id, monthly_cap=data.monthly_cap)


class LimitsController(Controller):
    """The workspace's tier limits and this hour's use (docs/limits.md)."""

    path = "/tenant/limits"
    guards = [requires_tenant_admin]
    dependencies = {"limits_service": Provide(provide_limits_service)}
    tags = ["tenant"]

    @get("/")
    async def get_limits(self, limits_service: LimitsService) -> LimitsOut:
        """Concurrent executions, requests and API calls per hour, and what is used now."""
        return msgspec.convert(await limits_service.overview(), LimitsOut)


class ExportController(Controller):
    """GDPR: everything the workspace holds, as one JSON archive (docs/gdpr.md)."""

    path = "/tenant/export"
    guards = [requires_tenant_admin]
    tags = ["tenant"]

    @get("/", media_type="application/json")
    async def export_tenant(self, me: Principal, ip: str | None) -> Stream:
        """Download the workspace's data (secrets left out), streamed as it is read."""
        await erasure.record_export(me, ip)
        filename = f"hirebuddha-export-{me.tenant_id}.json"
        return Stream(
            erasure.export_archive(me.tenant_id),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
