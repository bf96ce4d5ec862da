"""Identity rules: registration, login, refresh rotation with reuse detection, revocation.

No caller to inject here (these flows are how a caller comes to be), so this service is a
module of functions; its SQL is in `web.auth.repository`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from runtime import db
from runtime.settings import get_settings
from web import audit
from web.auth import recovery, webauthn
from web.auth import repository as repo
from web.auth.identity import SIGN_IN_STATUSES
from web.auth.passwords import hash_password, needs_rehash, verify_password
from web.auth.repository import one
from web.auth.tokens import issue_access_token, new_refresh_token, sha256_hex

PUBLIC_MAIL_DOMAINS = frozenset(
    "gmail.com googlemail.com outlook.com hotmail.com live.com yahoo.com icloud.com me.com "
    "proton.me protonmail.com aol.com gmx.com gmx.de web.de mail.com yandex.com".split()
)

BAD_CREDENTIALS = "Invalid email or password."


def workspace_name_for(email: str, given: str | None) -> str:
    """The new tenant's name: as given, else the email's domain, else "My Workspace"."""
    if given and given.strip():
        return given.strip()
    domain = email.rpartition("@")[2].lower()
    return domain if domain and domain not in PUBLIC_MAIL_DOMAINS else "My Workspace"


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
    verified: bool = False,
) -> dict[str, Any]:
    """Insert a user into the current scope's tenant; returns its public columns."""
    user = repo.new_user(
        tenant_id=tenant_id,
        email=email,
        full_name=full_name,
        hashed_password=await hash_password(password),
        role=role,
        partner_id=partner_id,
        verified=verified,
    )
    return await repo.insert_user(user)


async def register(
    email: str, password: str, full_name: str, workspace: str | None, ip: str | None
) -> tuple[dict, dict] | None:
    """A new tenant whose first user is its tenant_admin, its address still to verify.

    An address of a domain a tenant has claimed joins that tenant as `user` instead, once the
    mailed link proves it (None: nothing exists until then).
    """
    # Which tenant claimed the email's domain is a cross-tenant question.
    async with db.scope(system=True):
        claimed = await recovery.claimed_tenant(email)
    if claimed is not None:
        await recovery.request_domain_join(claimed, email, password, full_name, ip)
        return None
    return await create_workspace(email, password, full_name, workspace, ip)


async def create_workspace(
    email: str,
    password: str,
    full_name: str,
    workspace: str | None,
    ip: str | None,
    *,
    verified: bool = False,
) -> tuple[dict, dict]:
    """A new tenant and its tenant_admin; a verification link is mailed unless `verified`."""
    tenant_id = uuid.uuid4()
    async with db.scope(tenant_id):
        await repo.insert_tenant(tenant_id, workspace_name_for(email, workspace))
        user = await create_user(
            tenant_id=tenant_id,
            email=email,
            password=password,
            full_name=full_name,
            role="tenant_admin",
            verified=verified,
        )
        await audit.record("auth.register", tenant_id=tenant_id, actor_id=user["id"], ip=ip)
        if not verified:
            await recovery.send_verification(user)
        tenant = one(await repo.tenant_by_id(tenant_id))
    return user, tenant


async def authenticate(email: str, password: str, ip: str | None) -> dict[str, Any]:
    """The user for these credentials; same answer and cost for unknown email or bad password."""
    # Login is cross-tenant by nature: the email is all we know.
    async with db.scope(system=True):
        row = await repo.login_row(email)
    hashed = row["hashed_password"] if row else None
    if not await verify_password(hashed, password) or row is None:
        raise NotAuthorizedException(BAD_CREDENTIALS)
    if not row["is_active"] or row["tenant_status"] not in SIGN_IN_STATUSES:
        raise PermissionDeniedException("This account is disabled or its workspace is closed.")
    async with db.scope(row["tenant_id"]):
        if needs_rehash(row["hashed_password"]):
            await repo.set_password_hash(row["id"], await hash_password(password), now())
        await audit.record("auth.login", tenant_id=row["tenant_id"], actor_id=row["id"], ip=ip)
        return {**one(await repo.user_by_id(row["id"])), "tenant_requires_mfa": row["require_mfa"]}


async def start_session(user: dict[str, Any], family_id: uuid.UUID | None = None) -> tuple[str, int, str]:
    """An access token and a new refresh token (a new family unless rotating one)."""
    access, expires_in = issue_access_token(
        user["id"], user["tenant_id"], user["role"], user["partner_id"], user.get("session_epoch", 0)
    )
    refresh = new_refresh_token()
    async with db.scope(user["tenant_id"]):
        await repo.insert_refresh_token(
            user["id"],
            user["tenant_id"],
            sha256_hex(refresh),
            family_id or uuid.uuid4(),
            now() + dt.timedelta(seconds=get_settings().auth.refresh_ttl_s),
        )
    return access, expires_in, refresh


async def rotate(refresh: str) -> tuple[dict[str, Any], str, int, str]:
    """Exchange a live refresh token for a new pair; reuse of a used one kills its family."""
    digest = sha256_hex(refresh)
    # Refresh happens before we know the tenant: the token's digest is the only key.
    async with db.scope(system=True):
        row = await repo.use_refresh_token(digest)
        if row is None:
            known = await repo.refresh_token_row(digest)
            if known is not None and known["live"]:
                await repo.revoke_family(known["family_id"])
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
    if not user["mfa_enabled"]:
        async with db.scope(user["tenant_id"]):
            tenant = one(await repo.tenant_by_id(user["tenant_id"]))
        if tenant["require_mfa"] and not await webauthn.has_passkeys(user["id"], user["tenant_id"]):
            # required after this session began: sign in again, enrol
            raise NotAuthorizedException("Your workspace requires a second factor; sign in again.")
    access, expires_in, new = await start_session(user, family_id=row["family_id"])
    return user, access, expires_in, new


async def _active_user(user_id: uuid.UUID) -> dict[str, Any] | None:
    return await repo.user_by_id(user_id) if await repo.is_active(user_id) else None


async def logout(user_id: uuid.UUID, tenant_id: uuid.UUID, refresh: str | None) -> None:
    """Revoke the presented token's family, or every refresh token of the user."""
    async with db.scope(tenant_id):
        family = await repo.family_of(sha256_hex(refresh), user_id) if refresh else None
        await repo.revoke_user_tokens([user_id], family)
        await audit.record("auth.logout", tenant_id=tenant_id, actor_id=user_id)


async def me(user_id: uuid.UUID, tenant_id: uuid.UUID) -> tuple[dict, dict, dict | None]:
    """The caller's user, tenant and (for partner admins) partner."""
    async with db.scope(tenant_id):
        user = one(await repo.user_by_id(user_id))
        tenant = one(await repo.tenant_by_id(tenant_id))
        partner = await repo.partner_by_id(user["partner_id"]) if user["partner_id"] else None
    return user, tenant, partner
