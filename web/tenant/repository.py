"""SQL of a tenant's own rows: the tenant, its users, API keys and webhook secret.

Every function runs in the caller's `db.scope` and filters by tenant as well (RLS is the
second wall, not the first).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from runtime import db
from runtime.tables import ApiKey, Tenant, User
from web.auth.repository import TENANT_COLUMNS, USER_COLUMNS

KEY_COLUMNS = (
    ApiKey.id,
    ApiKey.name,
    ApiKey.prefix,
    ApiKey.created_at,
    ApiKey.last_used_at,
    ApiKey.revoked_at,
)


# --- tenants -------------------------------------------------------------------------------


async def tenant(tenant_id: uuid.UUID, partner_id: uuid.UUID | None = None) -> dict[str, Any] | None:
    """A tenant visible in this scope (only if it is this partner's, when given)."""
    query = Tenant.select(*TENANT_COLUMNS).where(Tenant.id == tenant_id)
    if partner_id is not None:
        query = query.where(Tenant.partner == partner_id)
    return await query.first()


async def tenants(partner_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Every tenant visible in this scope (only a partner's, when given), oldest first."""
    query = Tenant.select(*TENANT_COLUMNS).order_by(Tenant.created_at)
    if partner_id is not None:
        query = query.where(Tenant.partner == partner_id)
    return await query


async def update(tenant_id: uuid.UUID, changes: dict[str, Any], at: dt.datetime) -> None:
    """Set these columns (by name) of a tenant and its `updated_at`."""
    if changes:
        values = {getattr(Tenant, k): v for k, v in changes.items()}
        await Tenant.update({**values, Tenant.updated_at: at}).where(Tenant.id == tenant_id)


# --- users ---------------------------------------------------------------------------------


async def users(tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """The tenant's users, oldest first."""
    return await User.select(*USER_COLUMNS).where(User.tenant == tenant_id).order_by(User.created_at)


async def user(tenant_id: uuid.UUID, user_id: uuid.UUID) -> dict[str, Any] | None:
    """One user of the tenant."""
    where = (User.id == user_id) & (User.tenant == tenant_id)
    return await User.select(*USER_COLUMNS).where(where).first()


async def update_user(
    tenant_id: uuid.UUID, user_id: uuid.UUID, changes: dict[str, Any], at: dt.datetime
) -> None:
    """Set these columns (by name) of one of the tenant's users and its `updated_at`."""
    if changes:
        values = {getattr(User, k): v for k, v in changes.items()}
        where = (User.id == user_id) & (User.tenant == tenant_id)
        await User.update({**values, User.updated_at: at}).where(where)


# --- API keys ------------------------------------------------------------------------------


async def api_keys(tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """The tenant's keys (never the key itself), oldest first."""
    return await ApiKey.select(*KEY_COLUMNS).where(ApiKey.tenant == tenant_id).order_by(ApiKey.created_at)


async def insert_api_key(key: ApiKey) -> None:
    """Store a new key (hashed by the caller)."""
    await ApiKey.insert(key)


async def revoke_api_key(tenant_id: uuid.UUID, key_id: uuid.UUID, at: dt.datetime) -> bool:
    """Revoke one of the tenant's keys (a revoked one stays revoked then); False if no such key."""
    where = (ApiKey.id == key_id) & (ApiKey.tenant == tenant_id)
    if await ApiKey.select(ApiKey.id).where(where).first() is None:
        return False
    await ApiKey.update({ApiKey.revoked_at: at}).where(where & ApiKey.revoked_at.is_null())
    return True


# --- webhook secret (stored encrypted) -----------------------------------------------------


async def webhook_secret(tenant_id: uuid.UUID, if_none: str) -> str | None:
    """The tenant's encrypted secret, storing `if_none` first when it has none."""
    await db.execute(
        "UPDATE tenants SET webhook_secret = $2 WHERE id = $1 AND webhook_secret IS NULL", tenant_id, if_none
    )
    row = await db.fetchrow("SELECT webhook_secret FROM tenants WHERE id = $1", tenant_id)
    return None if row is None else row["webhook_secret"]


async def set_webhook_secret(tenant_id: uuid.UUID, encrypted: str) -> None:
    """Replace the tenant's encrypted secret."""
    await db.execute("UPDATE tenants SET webhook_secret = $2 WHERE id = $1", tenant_id, encrypted)
