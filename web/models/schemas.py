"""Model catalog DTOs."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from web.admin.schemas import Key
from web.providers.schemas import ProviderName
from web.schemas import Name

ModelType = Literal["chat", "embedding"]
ContextWindow = Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]
MaxOutput = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]


class ModelCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A catalog entry; `model_key` is what agents name, what the provider is sent and what
    rates are keyed by."""

    model_key: Key
    model_name: Name
    provider: ProviderName
    model_type: ModelType = "chat"
    context_window: ContextWindow = 8192
    max_output_tokens: MaxOutput = 4096
    is_active: bool = True


class ModelPatch(msgspec.Struct, forbid_unknown_fields=True):
    model_name: Name | msgspec.UnsetType = msgspec.UNSET
    provider: ProviderName | msgspec.UnsetType = msgspec.UNSET
    context_window: ContextWindow | msgspec.UnsetType = msgspec.UNSET
    max_output_tokens: MaxOutput | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET


class CatalogEntry(msgspec.Struct, kw_only=True):
    """What everyone sees of a catalog model."""

    model_key: str
    model_name: str
    provider: str
    model_type: str
    context_window: int
    max_output_tokens: int


class ModelOut(CatalogEntry, kw_only=True):
    id: uuid.UUID
    is_active: bool


class Price(msgspec.Struct):
    """What the caller's tenant pays per `unit` of one resource, at the rates in force now."""

    resource_type: str
    rate: Decimal
    unit: str


class TenantModelOut(CatalogEntry, kw_only=True):
    """A model a tenant may pick, with its limits and the tenant's own price."""

    prices: list[Price]
