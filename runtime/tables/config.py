"""Platform configuration: models and (encrypted) system settings."""

from piccolo.columns import Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from runtime.db import APP_DB
from runtime.tables.base import created_at, pk, updated_at


class AIModel(Table, tablename="ai_models", db=APP_DB):
    """A model tenants may pick for their agents: `model_key` is what agents name, what is
    sent to the provider and what rates are keyed by; `provider` names a configured provider."""

    id = pk()
    model_key = Varchar(length=100, unique=True)
    model_name = Varchar(length=200)
    provider = Varchar(length=50)
    model_type = Varchar(length=20, default="chat")  # chat | embedding
    is_active = Boolean(default=True)
    context_window = Integer(default=8192)
    max_output_tokens = Integer(default=4096)
    created_at = created_at()
    updated_at = updated_at()


class SystemConfig(Table, tablename="system_configs", db=APP_DB):
    """Platform settings; secrets (provider keys) are Fernet tokens with is_encrypted."""

    id = pk()
    key = Varchar(length=200, unique=True)
    value = Text()
    is_encrypted = Boolean(default=True)
    description = Varchar(length=500, null=True, default=None)
    created_at = created_at()
    updated_at = updated_at()


class ProviderHealth(Table, tablename="provider_health", db=APP_DB):
    """A provider's circuit breaker as an actors process last saw it change (not per call)."""

    name = Varchar(length=50, primary_key=True)
    breaker_state = Varchar(length=12, default="closed")  # closed | open | half-open
    failures = Integer(default=0)
    last_error = Text(null=True, default=None)
    last_error_at = Timestamptz(null=True, default=None)
    updated_at = updated_at()


class TierLimit(Table, tablename="tier_limits", db=APP_DB):
    """A tier's limits (docs/limits.md); the app admin edits them. NULL per hour: unlimited.

    A tenant's `max_concurrency`, when set, overrides `concurrent_executions` for it."""

    tier = Varchar(length=20, primary_key=True)
    concurrent_executions = Integer()
    requests_per_hour = Integer(null=True, default=None)
    api_calls_per_hour = Integer(null=True, default=None)
    updated_at = Timestamptz()
