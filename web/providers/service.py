"""The provider registry: any number of named OpenAI-compatible endpoints, plus `demo`.

Keys and header values are write-only: stored Fernet-encrypted (runtime.provider_config) and
never returned. Breaker state and the last error are what the actors last reported.
"""

from __future__ import annotations

import uuid

import httpx
from litestar.exceptions import HTTPException, NotFoundException, ValidationException

from runtime import db, provider_config
from runtime.provider_config import BUILTIN, ENV_PROVIDER, Health, ProviderConfig
from runtime.settings import Settings
from web import audit
from web.providers.repository import ProviderRepository
from web.providers.schemas import ConnectionTest, ProviderOut, ProviderPut

TEST_TIMEOUT_S = 5.0


def _source(config: ProviderConfig, effective: ProviderConfig) -> str:
    if config.name == BUILTIN:
        return "builtin"
    if config.stored:
        return "stored"
    return "environment" if effective.configured else "none"


def _out(config: ProviderConfig, effective: ProviderConfig, health: Health | None) -> ProviderOut:
    health = health or Health()
    return ProviderOut(
        name=config.name,
        kind=effective.kind,
        base_url=effective.base_url,
        has_api_key=effective.api_key is not None,
        header_names=sorted(effective.headers),
        source=_source(config, effective),  # type: ignore[arg-type]
        breaker_state=health.breaker_state,
        failures=health.failures,
        last_error=health.last_error,
        last_error_at=health.last_error_at,
    )


def check_name(name: str) -> None:
    """400 for a name that cannot be a provider's (lowercase letters, digits, - and _)."""
    if not provider_config.NAME.match(name):
        raise ValidationException(
            "A provider name is 1-50 lowercase letters, digits, '-' or '_'.",
            extra=[{"key": "name", "message": "not a provider name"}],
        )


class ProviderService:
    """List, create or change, delete and try providers (the app admin's)."""

    def __init__(self, settings: Settings, repo: ProviderRepository | None = None) -> None:
        self.settings = settings
        self.repo = repo or ProviderRepository()

    def _effective(self, config: ProviderConfig) -> ProviderConfig:
        return provider_config.with_env(config, self.settings.openai_base_url, self.settings.openai_api_key)

    async def listing(self) -> list[ProviderOut]:
        """`demo`, `openai`, then every stored provider by name."""
        async with db.scope(system=True):
            stored, health = await self.repo.stored(), await self.repo.health()
        names = [BUILTIN, ENV_PROVIDER, *sorted(n for n in stored if n not in (BUILTIN, ENV_PROVIDER))]
        out = []
        for name in names:
            config = stored.get(name) or ProviderConfig(name=name, base_url=None, api_key=None)
            out.append(_out(config, self._effective(config), health.get(name)))
        return out

    async def put(self, name: str, data: ProviderPut, actor_id: uuid.UUID) -> ProviderOut:
        """Create `name` or change what `data` names (an omitted key keeps the stored one)."""
        check_name(name)
        if name == BUILTIN:
            raise HTTPException(
                status_code=409, detail="The demo provider is built in and cannot be changed."
            )
        async with db.scope(system=True):
            current = self._effective(await self.repo.one(name))
            if data.base_url is None and current.base_url is None and name != ENV_PROVIDER:
                raise ValidationException(
                    "A new provider needs a base_url (the vendor's OpenAI-compatible /v1 URL).",
                    extra=[{"key": "base_url", "message": "required for a new provider"}],
                )
            await self.repo.save(
                name, base_url=data.base_url, api_key=data.api_key, kind=data.kind, headers=data.headers
            )
            await audit.record(
                "provider.update",
                tenant_id=None,
                actor_id=actor_id,
                provider=name,
                api_key_changed=data.api_key is not None,
                headers_changed=data.headers is not None,
            )
            config, health = await self.repo.one(name), await self.repo.health()
        return _out(config, self._effective(config), health.get(name))

    async def delete(self, name: str, actor_id: uuid.UUID) -> None:
        """Forget a provider; refused while catalog models name it."""
        check_name(name)
        if name == BUILTIN:
            raise HTTPException(
                status_code=409, detail="The demo provider is built in and cannot be deleted."
            )
        async with db.scope(system=True):
            if not (await self.repo.one(name)).stored:
                raise NotFoundException(f"Provider {name!r} has no stored settings.")
            if name != ENV_PROVIDER and (models := await self.repo.models_of(name)):
                raise HTTPException(
                    status_code=409,
                    detail=f"Provider {name!r} serves catalog models ({', '.join(models)}); "
                    "move or delete them first.",
                )
            await self.repo.delete(name)
            await audit.record("provider.delete", tenant_id=None, actor_id=actor_id, provider=name)

    async def test(self, name: str) -> ConnectionTest:
        """Call the provider's `GET /models` with its key: does the endpoint answer us?"""
        check_name(name)
        if name == BUILTIN:
            return ConnectionTest(
                ok=True, status=None, detail="Built in; needs no connection.", models=["demo-1"]
            )
        async with db.scope(system=True):
            config = self._effective(await self.repo.one(name))
        if not config.configured:
            raise NotFoundException(f"Provider {name!r} is not configured.")
        base = (config.base_url or "https://api.openai.com/v1").rstrip("/")
        headers = {**config.headers}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        try:
            async with httpx.AsyncClient(timeout=TEST_TIMEOUT_S) as client:
                response = await client.get(f"{base}/models", headers=headers)
        except httpx.HTTPError as exc:
            return ConnectionTest(ok=False, status=None, detail=f"No answer: {type(exc).__name__}", models=[])
        if response.status_code != 200:
            return ConnectionTest(
                ok=False,
                status=response.status_code,
                detail=f"The provider answered {response.status_code}.",
                models=[],
            )
        try:
            ids = [str(m["id"]) for m in response.json().get("data", [])][:200]
        except (ValueError, KeyError, TypeError, AttributeError):
            ids = []
        return ConnectionTest(ok=True, status=200, detail="Connected.", models=ids)
