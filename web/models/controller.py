"""`/admin/models` (the app admin's catalog) and `/models` (what a tenant may use)."""

from __future__ import annotations

import uuid

from litestar import Controller, get, patch, post
from litestar.di import Provide

from web.auth.guards import requires_app_admin, requires_tenant_member
from web.auth.identity import Principal
from web.models.schemas import ModelCreate, ModelOut, ModelPatch, TenantModelOut
from web.models.service import ModelService


async def provide_model_service() -> ModelService:
    return ModelService()


class ModelAdminController(Controller):
    """The catalog: add, list, change and (de)activate models."""

    path = "/admin/models"
    guards = [requires_app_admin]
    tags = ["admin"]
    dependencies = {"models": Provide(provide_model_service)}

    @get("/")
    async def list_models(self, models: ModelService) -> list[ModelOut]:
        """Every catalog model, active or not."""
        return await models.listing()

    @post("/", status_code=201)
    async def create_model(self, me: Principal, models: ModelService, data: ModelCreate) -> ModelOut:
        """Offer a model of a configured provider (active only once it has rates)."""
        return await models.create(data, me)

    @patch("/{model_id:uuid}")
    async def patch_model(
        self, me: Principal, models: ModelService, model_id: uuid.UUID, data: ModelPatch
    ) -> ModelOut:
        """Change a model; `is_active: false` refuses new executions of agents on it."""
        return await models.patch(model_id, data, me)


class ModelController(Controller):
    """Models a tenant's agents may use."""

    path = "/models"
    guards = [requires_tenant_member]
    tags = ["models"]
    dependencies = {"models": Provide(provide_model_service)}

    @get("/")
    async def list_models(self, me: Principal, models: ModelService) -> list[TenantModelOut]:
        """Active catalog models with their limits and the tenant's price per unit."""
        return await models.for_tenant(me)
