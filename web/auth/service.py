"""Identity rules: registration, login, refresh rotation with reuse detection, revocation."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from runtime import db
from runtime.settings import get_settings
from runtime.tables import Partner, RefreshToken, Tenant, User
from web import audit
from web.auth.passwords import hash_password, needs_rehash, verify_password
from web.auth.tokens import issue_access_token, new_refresh_token, sha256_hex

PUBLIC_MAIL_DOMAINS = frozenset(
    "gmail.com googlemail.com outlook.com hotmail.com live.com yahoo.com icloud.com me.com "
    "proton.me protonmail.com aol.com gmx.com gmx.de web.de mail.com yandex.com".split()
)

USER_COLUMNS = (
    User.id,
    User.email,
    User.full_name,
    User.role,
    User.tenant.as_alias("tenant_id"),
    User.is_active,
    User.partner.as_alias("partner_id"),
)
TENANT_COLUMNS = (
    Tenant.id,
    Tenant.name,
    Tenant.status,
    Tenant.partner.as_alias("partner_id"),
    Tenant.tier,
    Tenant.max_concurrency,
)
BAD_CREDENTIALS = "Invalid email or password."


def workspace_name_for(email: str, given: str | None) -> str:
    """The new tenant's name: as given, else the email's domain, else "My Workspace"."""
    if given and given.strip():
        return given.strip()
    domain = email.rpartition("@")[2].lower()
    return domain if domain and domain not in PUBLIC_MAIL_DOMAINS else "My Workspace"


def one(row: dict[str, Any] | None) -> dict[str, Any]:
    """A row that must exist (we just wrote it, or the caller was authenticated by it)."""
    if row is None:
        raise LookupError("expected row is missing")
    return row


def now() -> dt.datetime:
    """Aware UTC now."""
    return dt.datetime.now(dt.UTC)


async def create_user(
    *,
    tenant_id: uuid.UUID,
    email: str,
    password: str,
    full_name: str,
    role: str,
    partner_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Insert a user into the current scope's tenant; returns its public columns."""
    user = User(
        email=email.lower(),
        full_name=full_name,
        hashed_password=await hash_password(password),
        tenant=tenant_id,
        role=role,
        partner=partner_id,
    )
    await User.insert(user)
    return one(await User.select(*USER_COLUMNS).where(User.id == user.id).first())


async def register(
    email: str, password: str, full_name: str, workspace: str | None, ip: str | None
) -> tuple[dict, dict]:
    """A new tenant whose first user is its tenant_admin."""
    tenant_id = uuid.uuid4()
    async with db.scope(tenant_id):
        await Tenant.insert(Tenant(id=tenant_id, name=workspace_name_for(email, workspace)))
        user = await create_user(
            tenant_id=tenant_id,
            email=email,
            password=password,
            full_name=full_name,
            role="tenant_admin",
        )
        await audit.record("auth.register", tenant_id=tenant_id, actor_id=user["id"], ip=ip)
        tenant = one(await Tenant.select(*TENANT_COLUMNS).where(Tenant.id == tenant_id).first())
    return user, tenant


async def authenticate(email: str, password: str, ip: str | None) -> dict[str, Any]:
    """The user for these credentials; same answer and cost for unknown email or bad password."""
    # Login is cross-tenant by nature: the email is all we know.
    async with db.scope(system=True):
        row = await db.fetchrow(
            "SELECT u.id, u.hashed_password, u.is_active, u.tenant_id, t.status AS tenant_status "
            "FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.email = $1",
            email.lower(),
        )
    hashed = row["hashed_password"] if row else None
    if not await verify_password(hashed, password) or row is None:
        raise NotAuthorizedException(BAD_CREDENTIALS)
    if not row["is_active"] or row["tenant_status"] != "active":
        raise PermissionDeniedException("This account is disabled or its workspace is suspended.")
    async with db.scope(row["tenant_id"]):
        if needs_rehash(row["hashed_password"]):
            await User.update(
                {User.hashed_password: await hash_password(password), User.updated_at: now()}
            ).where(User.id == row["id"])
        await audit.record("auth.login", tenant_id=row["tenant_id"], actor_id=row["id"], ip=ip)
        return one(await User.select(*USER_COLUMNS).where(User.id == row["id"]).first())


async def start_session(user: dict[str, Any], family_id: uuid.UUID | None = None) -> tuple[str, int, str]:
    """An access token and a new refresh token (a new family unless rotating one)."""
    access, expires_in = issue_access_token(user["id"], user["tenant_id"], user["role"], user["partner_id"])
    refresh = new_refresh_token()
    async with db.scope(user["tenant_id"]):
        await RefreshToken.insert(
            RefreshToken(
                user=user["id"],
                tenant=user["tenant_id"],
                token=sha256_hex(refresh),
                family_id=family_id or uuid.uuid4(),
                expires_at=now() + dt.timedelta(seconds=get_settings().auth.refresh_ttl_s),
            )
        )
    return access, expires_in, refresh


async def rotate(refresh: str) -> tuple[dict[str, Any], str, int, str]:
    """Exchange a live refresh token for a new pair; reuse of a used one kills its family."""
    digest = sha256_hex(refresh)
    # Refresh happens before we know the tenant: the token's digest is the only key.
    async with db.scope(system=True):
        # One atomic UPDATE so two concurrent uses cannot both succeed.
        row = await db.fetchrow(
            "UPDATE refresh_tokens SET rotated_at = now() WHERE token = $1 AND rotated_at IS NULL "
            "AND NOT revoked AND expires_at > now() RETURNING user_id, family_id",
            digest,
        )
        if row is None:
            known = await db.fetchrow(
                "SELECT family_id, user_id, tenant_id, expires_at > now() AS live "
                "FROM refresh_tokens WHERE token = $1",
                digest,
            )
            if known is not None and known["live"]:
                await revoke_family(known["family_id"])
                await audit.record(
                    "auth.refresh_reuse",
                    tenant_id=known["tenant_id"],
                    actor_id=known["user_id"],
                    family_id=str(known["family_id"]),
                )
        else:
            user = await _active_user(row["user_id"])
    if row is None:
        raise NotAuthorizedException("Refresh token is invalid, expired or already used.")
    if user is None:
        raise NotAuthorizedException("Access revoked: account disabled or workspace suspended.")
    access, expires_in, new = await start_session(user, family_id=row["family_id"])
    return user, access, expires_in, new


async def _active_user(user_id: uuid.UUID) -> dict[str, Any] | None:
    row = await db.fetchrow(
        "SELECT u.is_active AND t.status = 'active' AS ok FROM users u "
        "JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1",
        user_id,
    )
    if row is None or not row["ok"]:
        return None
    return await User.select(*USER_COLUMNS).where(User.id == user_id).first()


async def revoke_family(family_id: uuid.UUID) -> None:
    """Revoke every token of one login (inside a system scope)."""
    await RefreshToken.update({RefreshToken.revoked: True}).where(RefreshToken.family_id == family_id)


async def logout(user_id: uuid.UUID, tenant_id: uuid.UUID, refresh: str | None) -> None:
    """Revoke the presented token's family, or every refresh token of the user."""
    async with db.scope(tenant_id):
        query = RefreshToken.update({RefreshToken.revoked: True}).where(RefreshToken.user == user_id)
        if refresh:
            family = (
                await RefreshToken.select(RefreshToken.family_id)
                .where((RefreshToken.token == sha256_hex(refresh)) & (RefreshToken.user == user_id))
                .first()
            )
            if family:
                query = query.where(RefreshToken.family_id == family["family_id"])
        await query
        await audit.record("auth.logout", tenant_id=tenant_id, actor_id=user_id)


async def revoke_user_tokens(user_ids: list[uuid.UUID]) -> None:
    """Revoke all refresh tokens of these users (in the caller's scope)."""
    if user_ids:
        await RefreshToken.update({RefreshToken.revoked: True}).where(RefreshToken.user.is_in(user_ids))


async def me(user_id: uuid.UUID, tenant_id: uuid.UUID) -> tuple[dict, dict, dict | None]:
    """The caller's user, tenant and (for partner admins) partner."""
    async with db.scope(tenant_id):
        user = one(await User.select(*USER_COLUMNS).where(User.id == user_id).first())
        tenant = one(await Tenant.select(*TENANT_COLUMNS).where(Tenant.id == tenant_id).first())
        partner = None
        if user["partner_id"]:
            partner = await Partner.select().where(Partner.id == user["partner_id"]).first()
    return user, tenant, partner
