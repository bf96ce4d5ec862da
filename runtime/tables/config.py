"""Platform configuration: models and (encrypted) system settings."""

from piccolo.columns import Boolean, Text, Varchar
from piccolo.table import Table

from runtime.db import APP_DB
from runtime.tables.base import created_at, pk, updated_at


class AIModel(Table, tablename="ai_models", db=APP_DB):
    """A model tenants may pick for their agents."""

    id = pk()
    model_key = Varchar(length=100, unique=True)
    model_name = Varchar(length=200)
    provider = Varchar(length=50)
    model_type = Varchar(length=20, default="text")
    is_active = Boolean(default=True)
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
