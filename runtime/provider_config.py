"""Provider settings in system_configs: `provider.<name>.api_key` (Fernet) and `.base_url`.

Written by the app admin (web), read just before a call by the actors. The key is
decrypted only here and never logged; run inside `db.scope(system=True)`.
"""

from __future__ import annotations

import msgspec

from runtime import crypto
from runtime.tables import SystemConfig

PROVIDERS = ("openai",)


class ProviderConfig(msgspec.Struct, frozen=True):
    """What a provider client needs. `repr` hides the key."""

    name: str
    base_url: str | None
    api_key: str | None

    def __repr__(self) -> str:
        return f"ProviderConfig(name={self.name!r}, base_url={self.base_url!r}, api_key=<redacted>)"


async def _upsert(key: str, value: str, encrypted: bool) -> None:
    exists = await SystemConfig.exists().where(SystemConfig.key == key)
    if exists:
        await SystemConfig.update({SystemConfig.value: value, SystemConfig.is_encrypted: encrypted}).where(
            SystemConfig.key == key
        )
    else:
        await SystemConfig.insert(SystemConfig(key=key, value=value, is_encrypted=encrypted))


async def save(name: str, api_key: str | None, base_url: str | None) -> None:
    """Store what was given; an omitted field keeps its value."""
    if api_key is not None:
        await _upsert(f"provider.{name}.api_key", crypto.encrypt(api_key), True)
    if base_url is not None:
        await _upsert(f"provider.{name}.base_url", base_url, False)


async def load(name: str) -> ProviderConfig:
    """The stored configuration of one provider, key decrypted."""
    rows = await SystemConfig.select(SystemConfig.key, SystemConfig.value, SystemConfig.is_encrypted).where(
        SystemConfig.key.like(f"provider.{name}.%")
    )
    values = {r["key"].rsplit(".", 1)[1]: r for r in rows}
    key = values.get("api_key")
    return ProviderConfig(
        name=name,
        base_url=values["base_url"]["value"] if "base_url" in values else None,
        api_key=crypto.decrypt(key["value"]) if key and key["is_encrypted"] else None,
    )
