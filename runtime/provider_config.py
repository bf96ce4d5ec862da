"""Named LLM providers: settings in system_configs, health in provider_health.

Settings of provider `<name>` are rows `provider.<name>.<field>` of system_configs: `base_url`
and `kind` in clear, `api_key` and `headers` (a JSON object: vendors such as Anthropic take
their key in a header) Fernet-encrypted. Written by the app admin (web), read by the actors
that call the provider; keys are decrypted only there and never logged. Run inside
`db.scope(system=True)`.

Two names are special: `demo` is built in (offline, nothing stored, never editable), and
`openai` also takes its base URL and key from `HB_OPENAI_BASE_URL`/`HB_OPENAI_API_KEY` when
nothing is stored (stored values win field by field).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import msgspec

from runtime import crypto, db
from runtime.tables import SystemConfig

BUILTIN = "demo"
"""The offline provider: always there, needs nothing."""
ENV_PROVIDER = "openai"
"""The provider the environment configures (`HB_OPENAI_*`)."""
KINDS = ("openai_compatible",)
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
"""Provider names: lowercase, no dots (the dot separates the config key's parts)."""
_SECRET_FIELDS = ("api_key", "headers")


class ProviderConfig(msgspec.Struct, frozen=True):
    """What a provider client needs. `repr` hides the key and the header values."""

    name: str
    base_url: str | None
    api_key: str | None
    kind: str = "openai_compatible"
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    stored: bool = False
    """Something is stored for it (else it comes from the environment or is built in)."""

    def __repr__(self) -> str:
        return (
            f"ProviderConfig(name={self.name!r}, base_url={self.base_url!r}, api_key=<redacted>, "
            f"headers={sorted(self.headers)!r})"
        )

    @property
    def configured(self) -> bool:
        """An endpoint is known (demo needs none)."""
        return self.name == BUILTIN or bool(self.base_url or self.api_key)


async def _upsert(key: str, value: str, encrypted: bool) -> None:
    exists = await SystemConfig.exists().where(SystemConfig.key == key)
    if exists:
        await SystemConfig.update({SystemConfig.value: value, SystemConfig.is_encrypted: encrypted}).where(
            SystemConfig.key == key
        )
    else:
        await SystemConfig.insert(SystemConfig(key=key, value=value, is_encrypted=encrypted))


async def save(
    name: str,
    api_key: str | None,
    base_url: str | None,
    *,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Store what was given; an omitted (None) field keeps its value."""
    if api_key is not None:
        await _upsert(f"provider.{name}.api_key", crypto.encrypt(api_key), True)
    if base_url is not None:
        await _upsert(f"provider.{name}.base_url", base_url, False)
    if kind is not None:
        await _upsert(f"provider.{name}.kind", kind, False)
    if headers is not None:
        await _upsert(f"provider.{name}.headers", crypto.encrypt(json.dumps(headers)), True)
        # The names in clear, so listing providers never decrypts a value.
        await _upsert(f"provider.{name}.header_names", json.dumps(sorted(headers)), False)


async def delete(name: str) -> bool:
    """Forget everything stored for `name`; True when something was."""
    rows = (
        await SystemConfig.delete()
        .where(SystemConfig.key.like(f"provider.{name}.%"))
        .returning(SystemConfig.key)
    )
    return bool(rows)


def _config(name: str, values: dict[str, dict[str, Any]]) -> ProviderConfig:
    def plain(field: str) -> str | None:
        row = values.get(field)
        return None if row is None else str(row["value"])

    def secret(field: str) -> str | None:
        row = values.get(field)
        return crypto.decrypt(row["value"]) if row and row["is_encrypted"] else None

    headers = secret("headers")
    return ProviderConfig(
        name=name,
        base_url=plain("base_url"),
        api_key=secret("api_key"),
        kind=plain("kind") or "openai_compatible",
        headers=json.loads(headers) if headers else {},
        stored=bool(values),
    )


def _split(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    by_name: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        _, name, field = row["key"].split(".", 2)
        by_name.setdefault(name, {})[field] = row
    return by_name


async def load(name: str) -> ProviderConfig:
    """The stored configuration of one provider, secrets decrypted (empty when none)."""
    rows = await SystemConfig.select(SystemConfig.key, SystemConfig.value, SystemConfig.is_encrypted).where(
        SystemConfig.key.like(f"provider.{name}.%")
    )
    return _config(name, _split(rows).get(name, {}))


async def load_all() -> dict[str, ProviderConfig]:
    """Every stored provider, by name, secrets decrypted (one query)."""
    rows = await SystemConfig.select(SystemConfig.key, SystemConfig.value, SystemConfig.is_encrypted).where(
        SystemConfig.key.like("provider.%")
    )
    return {name: _config(name, values) for name, values in _split(rows).items()}


class Summary(msgspec.Struct, frozen=True):
    """A stored provider as the console lists it, read without decrypting anything."""

    name: str
    base_url: str | None
    kind: str
    has_api_key: bool
    header_names: list[str]


async def summaries() -> dict[str, Summary]:
    """Every stored provider by name; secrets stay encrypted (web lists, never calls)."""
    rows = await SystemConfig.select(SystemConfig.key, SystemConfig.value).where(
        SystemConfig.key.like("provider.%")
    )
    out = {}
    for name, values in _split(rows).items():
        plain = {field: row["value"] for field, row in values.items() if field not in _SECRET_FIELDS}
        out[name] = Summary(
            name=name,
            base_url=plain.get("base_url"),
            kind=plain.get("kind") or "openai_compatible",
            has_api_key="api_key" in values,
            header_names=json.loads(plain.get("header_names") or "[]"),
        )
    return out


def with_env(config: ProviderConfig, base_url: str | None, api_key: str | None) -> ProviderConfig:
    """`openai`'s stored settings completed by the environment's (stored ones win)."""
    if config.name != ENV_PROVIDER:
        return config
    return msgspec.structs.replace(
        config, base_url=config.base_url or base_url, api_key=config.api_key or api_key
    )


# --- health: written by the actors on a breaker's state change, read by the console -------


class Health(msgspec.Struct, frozen=True):
    """A provider's breaker as last reported."""

    breaker_state: str = "closed"
    failures: int = 0
    last_error: str | None = None
    last_error_at: dt.datetime | None = None


_RECORD = """
INSERT INTO provider_health (name, breaker_state, failures, last_error, last_error_at, updated_at)
VALUES ($1, $2, $3, $4, CASE WHEN $4::text IS NULL THEN NULL ELSE now() END, now())
ON CONFLICT (name) DO UPDATE SET breaker_state = EXCLUDED.breaker_state,
  failures = EXCLUDED.failures,
  last_error = COALESCE(EXCLUDED.last_error, provider_health.last_error),
  last_error_at = COALESCE(EXCLUDED.last_error_at, provider_health.last_error_at),
  updated_at = now()
"""


async def record_health(name: str, state: str, failures: int, error: str | None) -> None:
    """Upsert a provider's breaker state (a null `error` keeps the last one)."""
    async with db.scope(system=True):
        await db.execute(_RECORD, name, state, failures, error)


async def health() -> dict[str, Health]:
    """Every provider's last reported breaker state, by name."""
    rows = await db.fetch(
        "SELECT name, breaker_state, failures, last_error, last_error_at FROM provider_health"
    )
    return {
        r["name"]: Health(r["breaker_state"], r["failures"], r["last_error"], r["last_error_at"])
        for r in rows
    }


async def forget_health(name: str) -> None:
    """Drop a deleted provider's health row."""
    await db.execute("DELETE FROM provider_health WHERE name = $1", name)
