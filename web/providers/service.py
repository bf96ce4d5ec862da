"""The provider registry: any number of named OpenAI-compatible endpoints, plus `demo`.

Keys and header values are write-only: stored Fernet-encrypted (runtime.provider_config) and
never returned. Breaker state and the last error are what the actors last reported.
"""

from __future__ import annotations

import uuid

import httpx
from litestar.exceptions import HTTPException, NotFoundException, ValidationException

from runtime import db, provider_config
from runtime.provider_config import BUILTIN, ENV_PROVIDER, Health, Summary
from runtime.settings import Settings
from web import audit
from web.providers.repository import ProviderRepository
from web.providers.schemas import ConnectionTest, ProviderOut, ProviderPut

TEST_TIMEOUT_S = 5.0


def _out(name: str, stored: Summary | None, health: Health | None, settings: Settings) -> ProviderOut:
    """What the console shows; `openai` falls back to the environment field by field."""
    env = name == ENV_PROVIDER
    base_url = (stored.base_url if stored else None) or (settings.openai_base_url if env else None)
    has_key = bool(stored and stored.has_api_key) or (env and settings.openai_api_key is not None)
    if name == BUILTIN:
        source = "builtin"
    elif stored is not None:
        source = "stored"
    else:
        source = "environment" if base_url or has_key else "none"
    health = health or Health()
    return ProviderOut(
        name=name,
        kind=stored.kind if stored else "openai_compatible",
        base_url=base_url,
        has_api_key=has_key,
        header_names=stored.header_names if stored else [],
        source=source,  # type: ignore[arg-type]
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

    async def listing(self) -> list[ProviderOut]:
        """`demo`, `openai`, then every stored provider by name."""
        async with db.scope(system=True):
            stored, health = await self.repo.stored(), await self.repo.health()
        names = [BUILTIN, ENV_PROVIDER, *sorted(n for n in stored if n not in (BUILTIN, ENV_PROVIDER))]
        return [_out(name, stored.get(name), health.get(name), self.settings) for name in names]

    async def put(self, name: str, data: ProviderPut, actor_id: uuid.UUID) -> ProviderOut:
        """Create `name` or change what `data` names (an omitted key keeps the stored one)."""
        check_name(name)
        if name == BUILTIN:
            raise HTTPException(
                status_code=409, detail="The demo provider is built in and cannot be changed."
            )
        async with db.scope(system=True):
            current = await self.repo.one(name)
            if (
                data.base_url is None
                and (current is None or current.base_url is None)
                and name != ENV_PROVIDER
            ):
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
            stored, health = await self.repo.one(name), await self.repo.health()
        return _out(name, stored, health.get(name), self.settings)

    async def delete(self, name: str, actor_id: uuid.UUID) -> None:
        """Forget a provider; refused while catalog models name it."""
        check_name(name)
        if name == BUILTIN:
            raise HTTPException(
                status_code=409, detail="The demo provider is built in and cannot be deleted."
            )
        async with db.scope(system=True):
            if await self.repo.one(name) is None:
                raise NotFoundException(f"Provider {name!r} has no stored settings.")
            if name != ENV_PROVIDER and (models := await self.repo.models_of(name)):
                raise HTTPException(
                    status_code=409,
                    detail=f"Provider {name!r} serves catalog models ({', '.join(models)}); "
                    "move or delete them first.",
                )
            await self.repo.delete(name)
            await audit.record("provider.delete", tenant_id=None, actor_id=actor_id, provider=name)

    async def test(self, name: str, actor_id: uuid.UUID) -> ConnectionTest:
        """Call the provider's `GET /models` with its key (does the endpoint answer us?); the
        attempt is audited: it sends the stored key to the stored URL."""
        result = await self._test(name)
        async with db.scope(system=True):
            await audit.record(
                "provider.test",
                tenant_id=None,
                actor_id=actor_id,
                provider=name,
                ok=result.ok,
                status=result.status,
            )
        return result

    async def _test(self, name: str) -> ConnectionTest:
        check_name(name)
        if name == BUILTIN:
            return ConnectionTest(
                ok=True, status=None, detail="Built in; needs no connection.", models=["demo-1"]
            )
        async with db.scope(system=True):
            stored = await self.repo.secrets(name)
        config = provider_config.with_env(stored, self.settings.openai_base_url, self.settings.openai_api_key)
        if not config.configured:
            raise NotFoundException(f"Provider {name!r} is not configured.")
        base = (config.base_url or "https://api.openai.com/v1").rstrip("/")
        headers = {**config.headers}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        try:
            async with httpx.AsyncClient(timeout=TEST_TIMEOUT_S) as client:
                response = await client.get(f"{base}/models", headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # unreachable or unusable URL
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
