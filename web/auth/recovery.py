"""Email verification, the domain join that waits for it, and password reset.

Flows without a caller (the person proves themselves with a mailed link), so module
functions like `web.auth.service`. docs/identity.md "Email verification", "Password reset".
"""

from __future__ import annotations

import uuid
from typing import Any

from runtime import db
from runtime.errors import CodedError, ErrorCode
from web import audit
from web.auth import links
from web.auth import repository as repo
from web.auth.passwords import hash_password

LINK_REFUSED = "This link is unknown, expired or already used."


def refused() -> CodedError:
    """The one answer for any bad link (which case it was is nobody's business)."""
    return CodedError(ErrorCode.INVALID_TOKEN, LINK_REFUSED, 400)


async def send_verification(user: dict[str, Any]) -> None:
    """Mail a link proving the user owns their address; call in the user's tenant scope."""
    token, _ = await links.issue(
        "verify_email", tenant_id=user["tenant_id"], user_id=user["id"], email=user["email"]
    )
    links.mail_later(
        user["email"],
        "Confirm your email address",
        f"Hello {user['full_name']},\n\nconfirm that this address is yours:\n\n"
        f"{links.url('verify_email', token)}\n\nThe link works once and for 48 hours.\n",
        tenant_id=user["tenant_id"],
    )


async def claimed_tenant(email: str) -> uuid.UUID | None:
    """The tenant that verified a claim on this email's domain, if any (any scope)."""
    domain = email.rpartition("@")[2].lower()
    row = await db.fetchrow(
        "SELECT tenant_id FROM domain_claims WHERE domain = $1 AND verified_at IS NOT NULL", domain
    )
    return None if row is None else row["tenant_id"]


async def request_domain_join(
    tenant_id: uuid.UUID, email: str, password: str, full_name: str, ip: str | None
) -> None:
    """A sign-up from a claimed domain: the account is created only when the link is used.

    Until then nothing exists but the link, so an address nobody controls never gets in.
    """
    async with db.scope(tenant_id):
        token, _ = await links.issue(
            "join_domain",
            tenant_id=tenant_id,
            email=email,
            role="user",
            payload={"full_name": full_name, "hashed_password": await hash_password(password)},
        )
        await audit.record("auth.join_requested", tenant_id=tenant_id, actor_id=None, ip=ip)
    links.mail_later(
        email,
        "Confirm your email address to join your team",
        f"Hello {full_name},\n\nyour organisation uses Hirebuddha. Confirm this address to join "
        f"its workspace:\n\n{links.url('join_domain', token)}\n\nThe link works once and for 48 hours.\n",
        tenant_id=tenant_id,
    )


async def join_claimed(
    tenant_id: uuid.UUID, email: str, full_name: str, hashed_password: str, ip: str | None, **details: str
) -> dict[str, Any]:
    """A verified `user` of the tenant that claimed the email's domain (in its scope)."""
    user = await repo.insert_user(
        repo.new_user(
            tenant_id=tenant_id,
            email=email,
            full_name=full_name,
            hashed_password=hashed_password,
            role="user",
            verified=True,
        )
    )
    await audit.record(
        "auth.domain_join",
        tenant_id=tenant_id,
        actor_id=user["id"],
        target_type="user",
        target_id=user["id"],
        ip=ip,
        **details,
    )
    return user


async def verify_email(token: str, ip: str | None) -> str:
    """Use a verification link; returns the address now verified."""
    # The link is all we know of the person: the lookup is cross-tenant by nature.
    async with db.scope(system=True):
        row = await links.consume(("verify_email", "change_email", "join_domain"), token)
        if row is None:
            raise refused()
        tenant_id = row["tenant_id"]
        await db.rescope(tenant_id)
        if row["purpose"] == "join_domain":
            if await claimed_tenant(row["email"]) != tenant_id:  # the claim was withdrawn since
                raise refused()
            await join_claimed(
                tenant_id, row["email"], row["payload"]["full_name"], row["payload"]["hashed_password"], ip
            )
        elif row["purpose"] == "change_email":
            if not await repo.set_email(row["user_id"], row["email"]):
                raise refused()
            await audit.record("auth.email_changed", tenant_id=tenant_id, actor_id=row["user_id"], ip=ip)
        else:
            if not await repo.mark_verified(row["user_id"], row["email"]):
                raise refused()  # the address changed after this link was sent
            await audit.record("auth.email_verified", tenant_id=tenant_id, actor_id=row["user_id"], ip=ip)
    return str(row["email"])


async def forgot_password(email: str, ip: str | None) -> None:
    """Mail a reset link when the address is an active account; the same silence otherwise."""
    # The email is all we know: cross-tenant by nature, like login.
    async with db.scope(system=True):
        row = await repo.login_row(email)
        if row is None or not row["is_active"]:
            return
        await db.rescope(row["tenant_id"])
        await links.revoke_open(row["id"], "reset_password")
        token, _ = await links.issue(
            "reset_password", tenant_id=row["tenant_id"], user_id=row["id"], email=email
        )
        await audit.record(
            "auth.password_reset_requested", tenant_id=row["tenant_id"], actor_id=row["id"], ip=ip
        )
    links.mail_later(
        email.lower(),
        "Reset your password",
        "Someone asked to reset the password of your Hirebuddha account. If it was you, choose "
        f"a new one here:\n\n{links.url('reset_password', token)}\n\nThe link works once and for "
        "15 minutes. If it was not you, ignore this message: your password stays as it is.\n",
        tenant_id=row["tenant_id"],
    )


async def reset_password(token: str, password: str, ip: str | None) -> None:
    """Use a reset link: new password, address verified, every session of the user ended."""
    async with db.scope(system=True):  # the link is all we know of the person
        row = await links.consume(("reset_password",), token)
        if row is None:
            raise refused()
        await db.rescope(row["tenant_id"])
        await end_sessions_with_password(row["user_id"], await hash_password(password))
        await repo.mark_verified(row["user_id"], row["email"])
        await audit.record("auth.password_reset", tenant_id=row["tenant_id"], actor_id=row["user_id"], ip=ip)


async def end_sessions_with_password(user_id: uuid.UUID, hashed: str) -> None:
    """Store a new password hash and end every session of the user (in its tenant's scope).

    The bumped session epoch refuses the access tokens in flight on their next request and
    its trigger closes the user's open sockets (web/security/revocation.py); the refresh
    tokens are revoked.
    """
    await repo.set_password_and_bump_epoch(user_id, hashed)
    await repo.revoke_user_tokens([user_id])


async def accept_invitation(token: str, full_name: str, password: str, ip: str | None) -> dict[str, Any]:
    """Use an invitation link: a verified account in the inviting tenant, with its role."""
    hashed = await hash_password(password)
    async with db.scope(system=True):  # the link is all we know of the person
        row = await links.consume(("invitation",), token)
        if row is None:
            raise refused()
        await db.rescope(row["tenant_id"])
        user = await repo.insert_user(
            repo.new_user(
                tenant_id=row["tenant_id"],
                email=row["email"],
                full_name=full_name,
                hashed_password=hashed,
                role=row["role"],
                verified=True,
            )
        )
        await audit.record(
            "invitation.accept",
            tenant_id=row["tenant_id"],
            actor_id=user["id"],
            target_type="user",
            target_id=user["id"],
            ip=ip,
            invitation_id=str(row["id"]),
        )
    return user
