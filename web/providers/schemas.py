"""Provider DTOs: keys and header values go in, never out."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from web.admin.schemas import Secret, Url

ProviderName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")
]
HeaderName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9-]+$")]
HeaderValue = Annotated[str, msgspec.Meta(min_length=1, max_length=4096, pattern=r"^[^\x00\r\n]+$")]


class ProviderPut(msgspec.Struct, forbid_unknown_fields=True):
    """Create or change a provider; an omitted field keeps its stored value. A new provider
    needs `base_url` (`openai` may take it from the environment)."""

    base_url: Url | None = None
    api_key: Secret | None = None
    kind: Literal["openai_compatible"] = "openai_compatible"
    headers: Annotated[dict[HeaderName, HeaderValue], msgspec.Meta(max_length=20)] | None = None


class ProviderOut(msgspec.Struct):
    """A provider as the console shows it: whether a key is set, never the key."""

    name: str
    kind: str
    base_url: str | None
    has_api_key: bool
    header_names: list[str]
    source: Literal["builtin", "stored", "environment", "none"]
    """Where its settings come from (`none`: `openai` with nothing configured)."""
    breaker_state: str
    """As the actors last reported it: closed, open or half-open."""
    failures: int
    last_error: str | None
    last_error_at: dt.datetime | None


class ConnectionTest(msgspec.Struct):
    """The answer of the provider's `GET /models` to our key."""

    ok: bool
    status: int | None
    detail: str
    models: list[str]
