"""`/admin/*`: the app admin runs partners, tenants, rates, models and provider keys."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, Request, get, patch, post, put
from litestar.di import Provide
from litestar.exceptions import NotFoundException

from runtime import db, provider_config
from runtime.tables import AIModel
from web import audit
from web.admin.deps import provide_admin_service
from web.admin.schemas import (
    AdminTenantPatch,
    ModelCreate,
    ModelOut,
    PartnerCreate,
    PartnerOut,
    ProviderOut,
    ProviderPut,
    RateCreate,
    RateOut,
)
from web.admin.service import AdminService
from web.auth.guards import requires_app_admin
from web.auth.schemas import TenantOut
from web.deps import principal


class AdminController(Controller):
    """Platform-wide administration; runs in the system scope after the role guard."""

    path = "/admin"
    guards = [requires_app_admin]
    dependencies = {"admin_service": Provide(provide_admin_service)}
    tags = ["admin"]

    @get("/partners")
    async def list_partners(self, admin_service: AdminService) -> list[PartnerOut]:
        """Every partner."""
        return msgspec.convert(await admin_service.partners(), list[PartnerOut])

    @post("/partners", status_code=201)
    async def create_partner(self, admin_service: AdminService, data: PartnerCreate) -> PartnerOut:
        """A partner, its house tenant and its first partner admin."""
        return msgspec.convert(await admin_service.create_partner(data), PartnerOut)

    @get("/tenants")
    async def list_tenants(self, admin_service: AdminService) -> list[TenantOut]:
        """Every tenant."""
        return msgspec.convert(await admin_service.tenants(), list[TenantOut])

    @patch("/tenants/{tenant_id:uuid}")
    async def patch_tenant(
        self, admin_service: AdminService, tenant_id: uuid.UUID, data: AdminTenantPatch
    ) -> TenantOut:
        """Status, tier and concurrency limit of any tenant."""
        return msgspec.convert(await admin_service.update_tenant(tenant_id, data), TenantOut)

    @get("/rates")
    async def list_rates(self, admin_service: AdminService) -> list[RateOut]:
        """Every version of every system rate, newest first."""
        return msgspec.convert(await admin_service.rates(), list[RateOut])

    @post("/rates", status_code=201)
    async def create_rate(self, admin_service: AdminService, data: RateCreate) -> RateOut:
        """A new version of a rate; the one it replaces ends where this one starts."""
        return msgspec.convert(await admin_service.create_rate(data), RateOut)

    @get("/models")
    async def list_models(self) -> list[ModelOut]:
        """Models tenants may choose."""
        async with db.scope(system=True):
            rows = await AIModel.select().order_by(AIModel.model_key)
        return msgspec.convert(rows, list[ModelOut])

    @post("/models", status_code=201)
    async def create_model(self, request: Request, data: ModelCreate) -> ModelOut:
        """Offer a model."""
        model = AIModel(**msgspec.structs.asdict(data))
        async with db.scope(system=True):
            await AIModel.insert(model)
            await audit.record(
                "model.create",
                tenant_id=None,
                actor_id=principal(request).id,
                target_type="ai_model",
                target_id=model.id,
                model_key=data.model_key,
            )
            row = await AIModel.select().where(AIModel.id == model.id).first()
        return msgspec.convert(row, ModelOut)

    @get("/providers")
    async def list_providers(self) -> list[ProviderOut]:
        """Configured providers; keys are write-only and never returned."""
        async with db.scope(system=True):
            configs = [await provider_config.load(n) for n in provider_config.PROVIDERS]
        return [ProviderOut(c.name, c.api_key is not None, c.base_url) for c in configs]

    @put("/providers/{name:str}")
    async def put_provider(self, request: Request, name: str, data: ProviderPut) -> ProviderOut:
        """Set a provider's API key (stored Fernet-encrypted) and/or base URL."""
        if name not in provider_config.PROVIDERS:
            raise NotFoundException(
                f"Unknown provider {name!r}; known: {', '.join(provider_config.PROVIDERS)}."
            )
        me = principal(request)
        async with db.scope(system=True):
            await provider_config.save(name, data.api_key, data.base_url)
            await audit.record(
                "provider.update",
                tenant_id=None,
                actor_id=me.id,
                provider=name,
                api_key_changed=data.api_key is not None,
            )
            config = await provider_config.load(name)
        return ProviderOut(name, config.api_key is not None, config.base_url)
