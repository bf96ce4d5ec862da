"""Provider settings and health as stored (runtime.provider_config), plus who uses a provider."""

from __future__ import annotations

from runtime import db, provider_config
from runtime.provider_config import Health, ProviderConfig, Summary


class ProviderRepository:
    """Reads and writes in the caller's `db.scope(system=True)`."""

    async def stored(self) -> dict[str, Summary]:
        """Stored providers without decrypting anything."""
        return await provider_config.summaries()

    async def one(self, name: str) -> Summary | None:
        return (await provider_config.summaries()).get(name)

    async def secrets(self, name: str) -> ProviderConfig:
        """One provider with its key decrypted: only to call it (the connection test)."""
        return await provider_config.load(name)

    async def health(self) -> dict[str, Health]:
        return await provider_config.health()

    async def save(
        self,
        name: str,
        *,
        base_url: str | None,
        api_key: str | None,
        kind: str,
        headers: dict[str, str] | None,
    ) -> None:
        await provider_config.save(name, api_key, base_url, kind=kind, headers=headers)

    async def delete(self, name: str) -> bool:
        deleted = await provider_config.delete(name)
        await provider_config.forget_health(name)
        return deleted

    async def models_of(self, name: str) -> list[str]:
        """Catalog models served by `name`."""
        rows = await db.fetch("SELECT model_key FROM ai_models WHERE provider = $1 ORDER BY model_key", name)
        return [r["model_key"] for r in rows]
