"""`/me/*`: the caller's own account: name, email (re-verified) and password (old one required).

docs/identity.md "Profile".
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.di import Provide
from litestar.exceptions import ClientException, NotAuthorizedException

from runtime import db
from runtime.errors import CodedError, ErrorCode
from web import audit
from web.auth import links, mfa, recovery, webauthn
from web.auth import repository as repo
from web.auth.controller import session_response
from web.auth.guards import requires_authenticated
from web.auth.identity import Principal
from web.auth.passwords import hash_password, verify_password
from web.auth.schemas import (
    EmailChangeIn,
    LoginOut,
    MfaCodeIn,
    MfaEnabledOut,
    MfaSetupOut,
    MfaStatusOut,
    PasswordChangeIn,
    PasswordIn,
    PendingOut,
    ProfilePatch,
    UserOut,
)

WRONG_PASSWORD = "The current password is not correct."


class ProfileService:
    """The caller's own user row, in its tenant's scope."""

    def __init__(self, me: Principal, ip: str | None = None) -> None:
        self.me, self.ip = me, ip

    async def _check_password(self, password: str) -> None:
        async with db.scope(self.me.tenant_id):
            hashed = await repo.password_hash(self.me.id)
        if not await verify_password(hashed, password):
            raise NotAuthorizedException(WRONG_PASSWORD)

    async def rename(self, full_name: str) -> dict[str, Any]:
        """Change the caller's display name."""
        async with db.scope(self.me.tenant_id):
            await repo.set_full_name(self.me.id, full_name)
            await audit.record("profile.rename", tenant_id=self.me.tenant_id, actor_id=self.me.id, ip=self.ip)
            return repo.one(await repo.user_by_id(self.me.id))

    async def request_email_change(self, email: str, password: str) -> None:
        """Mail a link to the new address; the change happens when it is used."""
        await self._check_password(password)
        async with db.scope(self.me.tenant_id):
            user = repo.one(await repo.user_by_id(self.me.id))
            if user["email"] == email.lower():
                raise ClientException("That is already your address.")
            await links.revoke_open(self.me.id, "change_email")
            token, _ = await links.issue(
                "change_email", tenant_id=self.me.tenant_id, user_id=self.me.id, email=email
            )
            await audit.record(
                "profile.email_change_requested", tenant_id=self.me.tenant_id, actor_id=self.me.id, ip=self.ip
            )
        links.mail_later(
            email.lower(),
            "Confirm your new email address",
            f"Hello {user['full_name']},\n\nconfirm this new address for your Hirebuddha account:\n\n"
            f"{links.url('change_email', token)}\n\nThe link works once and for 48 hours.\n",
            tenant_id=self.me.tenant_id,
        )
        links.mail_later(
            user["email"],
            "Your email address is being changed",
            f"Someone signed in as you asked to move your account to {email.lower()}. If it was not "
            "you, reset your password now.\n",
            tenant_id=self.me.tenant_id,
        )

    async def resend_verification(self) -> dict[str, Any]:
        """Mail a new verification link for the caller's current address."""
        async with db.scope(self.me.tenant_id):
            user = repo.one(await repo.user_by_id(self.me.id))
            if not user["is_verified"]:
                await links.revoke_open(self.me.id, "verify_email")
                await recovery.send_verification(user)
        return user

    async def change_password(self, old: str, new: str) -> dict[str, Any]:
        """Set a new password; every other session ends (the caller gets a fresh one)."""
        await self._check_password(old)
        async with db.scope(self.me.tenant_id):
            await recovery.end_sessions_with_password(self.me.id, await hash_password(new))
            await audit.record(
                "profile.password_changed", tenant_id=self.me.tenant_id, actor_id=self.me.id, ip=self.ip
            )
            return repo.one(await repo.user_by_id(self.me.id))

    async def mfa_status(self) -> tuple[dict[str, Any], dict[str, Any], int]:
        """The caller's user and tenant rows and unused recovery codes."""
        async with db.scope(self.me.tenant_id):
            user = repo.one(await repo.user_by_id(self.me.id))
            tenant = repo.one(await repo.tenant_by_id(self.me.tenant_id))
        return user, tenant, await mfa.remaining_recovery_codes(self.me.id, self.me.tenant_id)

    async def disable_mfa(self, password: str) -> None:
        """Turn the second factor off (password required; refused where the tenant requires it)."""
        await self._check_password(password)
        _, tenant, _ = await self.mfa_status()
        if tenant["require_mfa"] and not await webauthn.has_passkeys(self.me.id, self.me.tenant_id):
            raise CodedError(ErrorCode.MFA_REQUIRED, "Your workspace requires a second factor.", 403)
        await mfa.disable(self.me.id, self.me.tenant_id, self.ip)


async def provide_profile_service(me: Principal, ip: str | None) -> ProfileService:
    """The caller's own account."""
    return ProfileService(me, ip)


class ProfileController(Controller):
    """Every signed-in person manages their own account here."""

    path = "/me"
    guards = [requires_authenticated]
    dependencies = {"profile": Provide(provide_profile_service)}
    tags = ["auth"]

    @patch("/profile")
    async def rename(self, profile: ProfileService, data: ProfilePatch) -> UserOut:
        """Change your name."""
        return msgspec.convert(await profile.rename(data.full_name), UserOut)

    @post("/email", status_code=202)
    async def change_email(self, profile: ProfileService, data: EmailChangeIn) -> PendingOut:
        """Move the account to a new address (password required); it changes when the link
        mailed there is used."""
        await profile.request_email_change(data.email, data.password)
        return PendingOut("verification_sent", data.email.lower())

    @post("/verification", status_code=202)
    async def resend_verification(self, profile: ProfileService) -> PendingOut:
        """Mail a new verification link (nothing when the address is verified already)."""
        user = await profile.resend_verification()
        return PendingOut("verified" if user["is_verified"] else "verification_sent", user["email"])

    @post("/password", status_code=200)
    async def change_password(
        self, request: Request, profile: ProfileService, data: PasswordChangeIn
    ) -> Response[LoginOut]:
        """Change your password (the current one required). Every session ends, this one is
        replaced by the tokens returned."""
        user = await profile.change_password(data.old_password, data.new_password)
        return await session_response(request, user)

    @get("/mfa")
    async def mfa_status(self, profile: ProfileService) -> MfaStatusOut:
        """Whether a second factor is on, and how many recovery codes are left."""
        user, tenant, left = await profile.mfa_status()
        return MfaStatusOut(user["mfa_enabled"], left, tenant["require_mfa"])

    @post("/mfa/setup", status_code=200)
    async def mfa_setup(self, me: Principal) -> MfaSetupOut:
        """Start enrolment: a new secret and its provisioning URI (the console draws the QR)."""
        secret, uri = await mfa.start_enrolment(me.id, me.tenant_id)
        return MfaSetupOut(secret, uri)

    @post("/mfa/confirm", status_code=200)
    async def mfa_confirm(self, me: Principal, ip: str | None, data: MfaCodeIn) -> MfaEnabledOut:
        """Finish enrolment with a first code; the recovery codes are in this answer only."""
        return MfaEnabledOut(await mfa.confirm_enrolment(me.id, me.tenant_id, data.code, ip))

    @post("/mfa/disable", status_code=204)
    async def mfa_disable(self, profile: ProfileService, data: PasswordIn) -> None:
        """Turn the second factor off (password required)."""
        await profile.disable_mfa(data.password)
