"""The model catalog: what agents may use, and the rules an agent's `llm_config` must meet.

An agent's `llm_config.model` (and `llm_config.fallback.model`) must name an active catalog
chat model of a known provider; otherwise a 422 names the field. A model can be active only
while it has rates in force for what it meters (chat: input and output tokens; embedding:
embedding tokens): the ledger could not price it otherwise.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar.exceptions import NotFoundException, ValidationException

from ledger import repository as ledger_repo
from ledger.pricing import PricingError
from runtime import db, provider_config
from web import audit
from web.auth.identity import Principal
from web.models.repository import ModelRepository
from web.models.schemas import CatalogEntry, ModelCreate, ModelOut, ModelPatch, Price, TenantModelOut

METERED: dict[str, tuple[str, ...]] = {
    "chat": ("input_tokens", "output_tokens"),
    "embedding": ("embedding_tokens",),
}
"""The resource types each model type is billed in: each needs a rate to be active."""


def unprocessable(key: str, message: str, code: str = "invalid") -> ValidationException:
    """A 422 naming the field (`errors[0].key`) and a machine code."""
    return ValidationException(
        f"{key}: {message}", extra=[{"key": key, "message": message, "code": code}], status_code=422
    )


async def known_providers() -> set[str]:
    """Provider names agents and models may use: `demo`, `openai` and the stored ones."""
    stored = await provider_config.summaries()
    return {provider_config.BUILTIN, provider_config.ENV_PROVIDER, *stored}


class ModelService:
    """The catalog for the app admin (write) and tenants (read), and agent checks."""

    def __init__(self, repo: ModelRepository | None = None) -> None:
        self.repo = repo or ModelRepository()

    # --- app admin ------------------------------------------------------------------------

    async def listing(self) -> list[ModelOut]:
        async with db.scope(system=True):
            return msgspec.convert(await self.repo.all(), list[ModelOut])

    async def _check(self, values: dict[str, Any]) -> None:
        if values["provider"] not in await known_providers():
            raise unprocessable(
                "provider", f"no provider {values['provider']!r} is configured", "unknown_provider"
            )
        if values["model_type"] == "chat" and values["max_output_tokens"] >= values["context_window"]:
            raise unprocessable("max_output_tokens", "must be smaller than context_window")
        if values["is_active"]:
            missing = set(METERED[values["model_type"]]) - await self.repo.priced_resources(
                values["model_key"]
            )
            if missing:
                raise unprocessable(
                    "is_active",
                    f"model {values['model_key']!r} has no rate in force for {', '.join(sorted(missing))}; "
                    "add its rates (POST /admin/rates) before activating it",
                    "model_unpriced",
                )

    async def create(self, data: ModelCreate, me: Principal) -> ModelOut:
        values = msgspec.structs.asdict(data)
        async with db.scope(system=True):
            await self._check(values)
            model_id = await self.repo.insert(values)
            await audit.record(
                "model.create",
                tenant_id=None,
                actor_id=me.id,
                target_type="ai_model",
                target_id=model_id,
                model_key=data.model_key,
            )
            return msgspec.convert(await self.repo.by_id(model_id), ModelOut)

    async def patch(self, model_id: uuid.UUID, data: ModelPatch, me: Principal) -> ModelOut:
        """Change a model; deactivating it refuses new executions of agents on it
        (`model_inactive`), running ones finish."""
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        async with db.scope(system=True):
            current = await self.repo.by_id(model_id)
            if current is None:
                raise NotFoundException("Model not found.")
            await self._check({**current, **changes})
            if changes:
                await self.repo.update(model_id, changes)
            await audit.record(
                "model.update",
                tenant_id=None,
                actor_id=me.id,
                target_type="ai_model",
                target_id=model_id,
                fields=sorted(changes),
            )
            return msgspec.convert(await self.repo.by_id(model_id), ModelOut)

    # --- tenants ----------------------------------------------------------------------------

    async def for_tenant(self, me: Principal) -> list[TenantModelOut]:
        """Active models with the caller's tenant's prices (partner rates where they apply)."""
        async with db.scope(me.tenant_id):
            rows = await self.repo.all(active_only=True)
            billing = (await ledger_repo.tenants([me.tenant_id])).get(me.tenant_id)
            partner_id = billing.partner_id if billing else None
            book = await ledger_repo.rate_book(
                [r["model_key"] for r in rows], [partner_id] if partner_id else []
            )
        now = dt.datetime.now(dt.UTC)
        out = []
        for row in rows:
            prices = []
            for resource in METERED.get(row["model_type"], ()):
                try:
                    rate = book.resolve(row["model_key"], resource, partner_id, now)
                except PricingError:
                    continue
                prices.append(Price(resource, rate.price_rate, rate.price_unit))
            fields = {k: row[k] for k in CatalogEntry.__struct_fields__}
            out.append(TenantModelOut(**fields, prices=prices))
        return out

    # --- agents -----------------------------------------------------------------------------

    async def check_llm_config(self, llm_config: dict[str, Any]) -> None:
        """422 naming the field unless the model and the fallback's are usable for chat."""
        fallback = llm_config.get("fallback") or {}
        async with db.scope(system=True):
            models = await self.repo.by_keys(
                [m for m in (llm_config.get("model"), fallback.get("model")) if m]
            )
            providers = await known_providers()
        _check_choice(llm_config, "llm_config", models, providers)
        if fallback:
            _check_choice(fallback, "llm_config.fallback", models, providers)
        limit = models[llm_config["model"]]["max_output_tokens"]
        if llm_config.get("max_tokens") and llm_config["max_tokens"] > limit:
            raise unprocessable("llm_config.max_tokens", f"the model answers at most {limit} tokens")


def _check_choice(
    choice: dict[str, Any], where: str, models: dict[str, dict[str, Any]], providers: set[str]
) -> None:
    model = models.get(choice.get("model") or "")
    named = choice.get("provider")
    if named is not None and named not in providers:
        raise unprocessable(f"{where}.provider", f"no provider {named!r} is configured", "unknown_provider")
    if model is None:
        raise unprocessable(
            f"{where}.model", f"{choice.get('model')!r} is not in the model catalog", "unknown_model"
        )
    if model["model_type"] != "chat":
        raise unprocessable(
            f"{where}.model", f"{model['model_key']!r} is an {model['model_type']} model, not chat"
        )
    if not model["is_active"]:
        raise unprocessable(f"{where}.model", f"{model['model_key']!r} is deactivated", "model_inactive")
    if named is not None and named != model["provider"]:
        raise unprocessable(
            f"{where}.provider", f"{model['model_key']!r} is served by {model['provider']!r}, not {named!r}"
        )
    if model["provider"] not in providers:
        raise unprocessable(
            f"{where}.model", f"its provider {model['provider']!r} is not configured", "unknown_provider"
        )
