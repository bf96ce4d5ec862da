"""Agent DTOs (docs/contract.md "REST")."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec

from runtime.executions import DoubleTexting
from web.schemas import LongText, Name

Provider = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")]
"""A configured provider's name (`demo`, `openai`, or one the app admin added)."""
Slug = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
"""What the OpenAI-compatible API's `model` may name instead of the agent's id."""
ModelName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[\w.:/\-]+$")]


class LlmFallback(msgspec.Struct, forbid_unknown_fields=True):
    """A second provider/model that answers when the primary fails transiently (5xx, 429,
    timeout, broken stream, circuit open) before the reply's first token."""

    provider: Provider
    model: ModelName


class LlmConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Which model answers and how."""

    model: ModelName
    provider: Provider | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=1, le=32_768)] | None = None
    fallback: LlmFallback | None = None


class AgentCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    role: LongText
    llm_config: LlmConfig
    output_schema: dict[str, Any] | None = None
    double_texting: DoubleTexting = DoubleTexting.ENQUEUE
    is_active: bool = True
    slug: Slug | None = None


class AgentPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    role: LongText | msgspec.UnsetType = msgspec.UNSET
    llm_config: LlmConfig | msgspec.UnsetType = msgspec.UNSET
    output_schema: dict[str, Any] | None | msgspec.UnsetType = msgspec.UNSET
    double_texting: DoubleTexting | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    slug: Slug | None | msgspec.UnsetType = msgspec.UNSET


class AgentOut(msgspec.Struct):
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    role: str
    llm_config: LlmConfig
    output_schema: dict[str, Any] | None
    double_texting: str
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    slug: str | None = None
