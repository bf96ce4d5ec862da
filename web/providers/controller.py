"""`/admin/providers`: the app admin registers named LLM providers."""

from __future__ import annotations

from litestar import Controller, delete, get, post, put
from litestar.datastructures import State
from litestar.di import Provide

from web.auth.guards import requires_app_admin
from web.auth.identity import Principal
from web.providers.schemas import ConnectionTest, ProviderOut, ProviderPut
from web.providers.service import ProviderService


async def provide_provider_service(state: State) -> ProviderService:
    """One service per request over the process's settings."""
    return ProviderService(state.settings)


class ProviderController(Controller):
    """Providers: settings are write-only secrets; health comes from the actors."""

    path = "/admin/providers"
    guards = [requires_app_admin]
    tags = ["admin"]
    dependencies = {"providers": Provide(provide_provider_service)}

    @get("/")
    async def list_providers(self, providers: ProviderService) -> list[ProviderOut]:
        """Every provider: `demo`, `openai` and the stored ones; keys are never returned."""
        return await providers.listing()

    @put("/{name:str}")
    async def put_provider(
        self, me: Principal, providers: ProviderService, name: str, data: ProviderPut
    ) -> ProviderOut:
        """Create a provider or change its base URL, key (stored encrypted), kind or headers."""
        return await providers.put(name, data, me.id)

    @delete("/{name:str}", status_code=204)
    async def delete_provider(self, me: Principal, providers: ProviderService, name: str) -> None:
        """Forget a provider's stored settings (refused while catalog models use it)."""
        await providers.delete(name, me.id)

    @post("/{name:str}/test", status_code=200)
    async def test_provider(self, me: Principal, providers: ProviderService, name: str) -> ConnectionTest:
        """Try the provider's `GET /models` with its key (audited as `provider.test`)."""
        return await providers.test(name, me.id)
