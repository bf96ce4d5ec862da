"""SQL of identity: users, tenants' rows as the API shows them, refresh tokens, API keys.

Every function runs in the caller's `db.scope` (the service opens it and says why when the
scope is the system's).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from runtime import db
from runtime.tables import Partner, RefreshToken, Tenant, User

USER_COLUMNS = (
    User.id,
    User.email,
    User.full_name,
    User.role,
    User.tenant.as_alias("tenant_id"),
    User.is_active,
    User.partner.as_alias("partner_id"),
    User.is_verified,
    User.mfa_enabled,
    User.session_epoch,
)
TENANT_COLUMNS = (
    Tenant.id,
    Tenant.name,
    Tenant.status,
    Tenant.partner.as_alias("partner_id"),
    Tenant.tier,
    Tenant.max_concurrency,
    Tenant.require_mfa,
)


def one(row: dict[str, Any] | None) -> dict[str, Any]:
    """A row that must exist (we just wrote it, or the caller was authenticated by it)."""
    if row is None:
        raise LookupError("expected row is missing")
    return row


# --- users and tenants ---------------------------------------------------------------------


async def insert_user(user: User) -> dict[str, Any]:
    """Insert a user into the current scope's tenant; returns its public columns."""
    await User.insert(user)
    return one(await user_by_id(user.id))


def new_user(
    *,
    tenant_id: uuid.UUID,
    email: str,
    full_name: str,
    hashed_password: str,
    role: str,
    partner_id: uuid.UUID | None = None,
    verified: bool = False,
) -> User:
    """A user row to insert."""
    return User(
        email=email.lower(),
        full_name=full_name,
        hashed_password=hashed_password,
        tenant=tenant_id,
        role=role,
        partner=partner_id,
        is_verified=verified,
    )


async def set_email(user_id: uuid.UUID, email: str) -> bool:
    """Change a user's address (verified by the link that brought it); False if gone."""
    row = await db.fetchrow(
        "UPDATE users SET email = $2, is_verified = true, updated_at = now() WHERE id = $1 RETURNING id",
        user_id,
        email.lower(),
    )
    return row is not None


async def mark_verified(user_id: uuid.UUID, email: str) -> bool:
    """Mark the address verified, if it is still the user's; False otherwise."""
    row = await db.fetchrow(
        "UPDATE users SET is_verified = true, updated_at = now() WHERE id = $1 AND email = $2 RETURNING id",
        user_id,
        email.lower(),
    )
    return row is not None


async def set_password_and_bump_epoch(user_id: uuid.UUID, hashed: str) -> None:
    """A new password hash; older access tokens die with the old session epoch."""
    await db.execute(
        "UPDATE users SET hashed_password = $2, session_epoch = session_epoch + 1, updated_at = now() "
        "WHERE id = $1",
        user_id,
        hashed,
    )


async def password_hash(user_id: uuid.UUID) -> str | None:
    """The stored hash of a user's password."""
    row = await User.select(User.hashed_password).where(User.id == user_id).first()
    return None if row is None else row["hashed_password"]


async def set_full_name(user_id: uuid.UUID, full_name: str) -> None:
    """Rename a user."""
    await db.execute("UPDATE users SET full_name = $2, updated_at = now() WHERE id = $1", user_id, full_name)


async def user_by_id(user_id: uuid.UUID) -> dict[str, Any] | None:
    """A user's public columns."""
    return await User.select(*USER_COLUMNS).where(User.id == user_id).first()


async def insert_tenant(tenant_id: uuid.UUID, name: str, partner_id: uuid.UUID | None = None) -> None:
    """A new active tenant."""
    await Tenant.insert(Tenant(id=tenant_id, name=name, partner=partner_id))


async def tenant_by_id(tenant_id: uuid.UUID) -> dict[str, Any] | None:
    """A tenant's public columns."""
    return await Tenant.select(*TENANT_COLUMNS).where(Tenant.id == tenant_id).first()


async def partner_by_id(partner_id: uuid.UUID) -> dict[str, Any] | None:
    """A partner's row."""
    return await Partner.select().where(Partner.id == partner_id).first()


async def login_row(email: str) -> Any:
    """Hash and status of the user with this email, whatever its tenant (system scope)."""
    return await db.fetchrow(
        "SELECT u.id, u.hashed_password, u.is_active, u.tenant_id, u.mfa_enabled, "
        "t.status AS tenant_status, t.require_mfa "
        "FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.email = $1",
        email.lower(),
    )


async def set_password_hash(user_id: uuid.UUID, hashed: str, at: dt.datetime) -> None:
    """Store a new password hash (a rehash on login)."""
    await User.update({User.hashed_password: hashed, User.updated_at: at}).where(User.id == user_id)


async def is_active(user_id: uuid.UUID) -> bool:
    """The user is active and its tenant active or suspended (a suspended one still signs in)."""
    row = await db.fetchrow(
        "SELECT u.is_active AND t.status IN ('active', 'suspended') AS ok FROM users u "
        "JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1",
        user_id,
    )
    return row is not None and bool(row["ok"])


async def principal_row(user_id: uuid.UUID) -> Any:
    """Role, partner and the status of user, tenant and partner, in one indexed query."""
    return await db.fetchrow(
        "SELECT u.role, u.partner_id, u.is_active, u.session_epoch, t.status AS tenant_status, "
        "p.status AS partner_status "
        "FROM users u JOIN tenants t ON t.id = u.tenant_id "
        "LEFT JOIN partners p ON p.id = COALESCE(u.partner_id, t.partner_id) "
        "WHERE u.id = $1",
        user_id,
    )


# --- refresh tokens ------------------------------------------------------------------------


async def insert_refresh_token(
    user_id: uuid.UUID, tenant_id: uuid.UUID, digest: str, family_id: uuid.UUID, expires_at: dt.datetime
) -> None:
    """Store a refresh token by its SHA-256."""
    await RefreshToken.insert(
        RefreshToken(user=user_id, tenant=tenant_id, token=digest, family_id=family_id, expires_at=expires_at)
    )


async def use_refresh_token(digest: str) -> Any:
    """Mark a live token used, atomically (two concurrent uses cannot both succeed)."""
    return await db.fetchrow(
        "UPDATE refresh_tokens SET rotated_at = now() WHERE token = $1 AND rotated_at IS NULL "
        "AND NOT revoked AND expires_at > now() RETURNING user_id, family_id",
        digest,
    )


async def refresh_token_row(digest: str) -> Any:
    """Family, owner and liveness of a token, used or not."""
    return await db.fetchrow(
        "SELECT family_id, user_id, tenant_id, expires_at > now() AS live "
        "FROM refresh_tokens WHERE token = $1",
        digest,
    )


async def family_of(digest: str, user_id: uuid.UUID) -> uuid.UUID | None:
    """The family of one of this user's tokens."""
    row = (
        await RefreshToken.select(RefreshToken.family_id)
        .where((RefreshToken.token == digest) & (RefreshToken.user == user_id))
        .first()
    )
    return None if row is None else row["family_id"]


async def revoke_family(family_id: uuid.UUID) -> None:
    """Revoke every token of one login."""
    await RefreshToken.update({RefreshToken.revoked: True}).where(RefreshToken.family_id == family_id)


async def revoke_user_tokens(user_ids: list[uuid.UUID], family_id: uuid.UUID | None = None) -> None:
    """Revoke the refresh tokens of these users (only one family's when given)."""
    if not user_ids:
        return
    query = RefreshToken.update({RefreshToken.revoked: True}).where(RefreshToken.user.is_in(user_ids))
    if family_id is not None:
        query = query.where(RefreshToken.family_id == family_id)
    await query


async def revoke_tenant_tokens(tenant_id: uuid.UUID) -> None:
    """Revoke every refresh token of a tenant (suspension)."""
    await RefreshToken.update({RefreshToken.revoked: True}).where(RefreshToken.tenant == tenant_id)


# --- API keys ------------------------------------------------------------------------------


async def api_key_by_prefix(prefix: str) -> Any:
    """The key with this prefix and the status of its tenant (system scope)."""
    return await db.fetchrow(
        "SELECT k.id, k.tenant_id, k.key_hash, k.revoked_at, k.last_used_at, t.status "
        "FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.prefix = $1",
        prefix,
    )


async def touch_api_key(key_id: uuid.UUID, at: dt.datetime) -> None:
    """Record when a key was last used."""
    await db.execute("UPDATE api_keys SET last_used_at = $2 WHERE id = $1", key_id, at)
