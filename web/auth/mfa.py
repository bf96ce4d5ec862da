"""Second factor: TOTP (RFC 6238, pyotp) with single-use recovery codes.

- Enrolment: a secret is generated and stored encrypted (runtime/crypto.py), shown once as a
  provisioning URI (the console draws it as a QR code); the first correct code enables it
  and returns ten recovery codes, stored as SHA-256, each usable once.
- Login: when the account has a second factor, `POST /auth/login` answers an MFA challenge
  (a 5-minute signed `mfa_token`, no access or refresh token); `POST /auth/mfa/verify` with
  the token and a TOTP or recovery code opens the session. A tenant that requires MFA makes
  a member without one enrol first (`kind: "setup"`). A passkey (web/auth/webauthn.py) is a
  second factor too: the challenge's `factors` says which the account has.
- A TOTP code is accepted for its 30-second step and one step either side, and only for a
  step later than the last one accepted (`users.mfa_last_step`), so a code seen once cannot
  be replayed within its window.

docs/identity.md "MFA".
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from typing import Any

import jwt
import msgspec
import pyotp
from litestar.exceptions import NotAuthorizedException

from runtime import crypto, db
from runtime.errors import CodedError, ErrorCode
from runtime.settings import get_settings
from web import audit
from web.auth import repository as repo

ISSUER_NAME = "Hirebuddha"
CHALLENGE_TTL_S = 300
CHALLENGE_AUDIENCE = "hirebuddha-mfa"
RECOVERY_CODES = 10
STEP_S = 30


class Challenge(msgspec.Struct, frozen=True):
    """Who passed the password and what is still asked of them."""

    sub: uuid.UUID
    tenant_id: uuid.UUID
    kind: str  # verify | setup


def issue_challenge(user: dict[str, Any], kind: str) -> str:
    """A short-lived token proving the password was right (useless as an access token:
    other audience)."""
    auth = get_settings().auth
    now = int(time.time())
    payload = {
        "sub": str(user["id"]),
        "tenant_id": str(user["tenant_id"]),
        "kind": kind,
        "iat": now,
        "exp": now + CHALLENGE_TTL_S,
        "iss": auth.issuer,
        "aud": CHALLENGE_AUDIENCE,
        "sv": user.get("session_epoch", 0),
        "jti": secrets.token_urlsafe(12),  # unique: a passkey ceremony is bound to this token
    }
    return jwt.encode(payload, auth.secret_key, algorithm="HS256")


def read_challenge(token: str, kind: str | None = None) -> Challenge:
    """The challenge a token carries; 401 when forged, expired or of another kind."""
    auth = get_settings().auth
    try:
        payload = jwt.decode(
            token,
            auth.secret_key,
            algorithms=["HS256"],
            issuer=auth.issuer,
            audience=CHALLENGE_AUDIENCE,
            options={"require": ["sub", "tenant_id", "kind", "exp"]},
        )
        challenge = msgspec.convert(payload, Challenge, strict=False)
    except (jwt.PyJWTError, msgspec.ValidationError) as exc:
        raise NotAuthorizedException("The sign-in step expired; sign in again.") from exc
    if kind is not None and challenge.kind != kind:
        raise NotAuthorizedException("This sign-in step does not apply.")
    return challenge


def wrong_code() -> CodedError:
    """The one answer for a wrong, replayed or used code."""
    return CodedError(ErrorCode.INVALID_MFA_CODE, "The code is wrong, expired or already used.", 401)


def _digest(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def _matching_step(secret: str, code: str, at: float) -> int | None:
    """The time step whose TOTP is `code` (now, or one step either side), if any."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(at // STEP_S)
    for step in (now_step - 1, now_step, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI authenticator apps read from a QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER_NAME)


async def start_enrolment(user_id: uuid.UUID, tenant_id: uuid.UUID) -> tuple[str, str]:
    """A new pending secret (replacing any pending one) and its provisioning URI.

    Refused when MFA is on already: turning it off first needs the password.
    """
    secret = pyotp.random_base32()
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "UPDATE users SET mfa_secret = $2 WHERE id = $1 AND NOT mfa_enabled RETURNING email",
            user_id,
            crypto.encrypt(secret),
        )
    if row is None:
        raise CodedError(ErrorCode.CONFLICT, "A second factor is set up already.", 409)
    return secret, provisioning_uri(secret, row["email"])


async def confirm_enrolment(user_id: uuid.UUID, tenant_id: uuid.UUID, code: str, ip: str | None) -> list[str]:
    """Enable MFA with the first correct code; returns the recovery codes (shown once)."""
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    async with db.scope(tenant_id):
        row = await db.fetchrow("SELECT mfa_secret, mfa_enabled FROM users WHERE id = $1 FOR UPDATE", user_id)
        if row is None or row["mfa_enabled"] or not row["mfa_secret"]:
            raise CodedError(ErrorCode.CONFLICT, "Start the set-up first.", 409)
        step = _matching_step(crypto.decrypt(row["mfa_secret"]), code, time.time())
        if step is None:
            raise wrong_code()
        await db.execute(
            "UPDATE users SET mfa_enabled = true, mfa_last_step = $2 WHERE id = $1", user_id, step
        )
        await db.execute("DELETE FROM mfa_recovery_codes WHERE user_id = $1", user_id)
        for code_ in codes:
            await db.execute(
                "INSERT INTO mfa_recovery_codes (tenant_id, user_id, code_hash) VALUES ($1, $2, $3)",
                tenant_id,
                user_id,
                _digest(code_),
            )
        await audit.record("mfa.enable", tenant_id=tenant_id, actor_id=user_id, ip=ip)
    return codes


async def check_code(user_id: uuid.UUID, tenant_id: uuid.UUID, code: str, ip: str | None) -> None:
    """Accept a TOTP code of a later step than the last one, or an unused recovery code."""
    async with db.scope(tenant_id):
        row = await db.fetchrow("SELECT mfa_secret, mfa_enabled FROM users WHERE id = $1", user_id)
        if row is None or not row["mfa_enabled"] or not row["mfa_secret"]:
            raise wrong_code()
        step = _matching_step(crypto.decrypt(row["mfa_secret"]), code, time.time())
        if step is not None:
            # Atomic: of two requests with one code, only the first moves the step forward.
            moved = await db.fetchrow(
                "UPDATE users SET mfa_last_step = $2 WHERE id = $1 AND mfa_last_step < $2 RETURNING id",
                user_id,
                step,
            )
            if moved is None:
                await audit.record("mfa.replay_refused", tenant_id=tenant_id, actor_id=user_id, ip=ip)
                raise wrong_code()
            return
        used = await db.fetchrow(
            "UPDATE mfa_recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 "
            "AND used_at IS NULL RETURNING id",
            user_id,
            _digest(code),
        )
        if used is None:
            raise wrong_code()
        await audit.record("mfa.recovery_code_used", tenant_id=tenant_id, actor_id=user_id, ip=ip)


async def disable(user_id: uuid.UUID, tenant_id: uuid.UUID, ip: str | None) -> None:
    """Turn the second factor off (the caller checked the password)."""
    async with db.scope(tenant_id):
        await db.execute("UPDATE users SET mfa_enabled = false, mfa_secret = NULL WHERE id = $1", user_id)
        await db.execute("DELETE FROM mfa_recovery_codes WHERE user_id = $1", user_id)
        await audit.record("mfa.disable", tenant_id=tenant_id, actor_id=user_id, ip=ip)


async def remaining_recovery_codes(user_id: uuid.UUID, tenant_id: uuid.UUID) -> int:
    """How many recovery codes are still unused."""
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "SELECT count(*) AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL", user_id
        )
    return int(row["n"]) if row else 0


async def challenged_user(challenge: Challenge) -> dict[str, Any]:
    """The user a challenge names, if still active and on the same session epoch."""
    async with db.scope(challenge.tenant_id):
        user = await repo.user_by_id(challenge.sub)
        active = user is not None and await repo.is_active(challenge.sub)
    if user is None or not active:
        raise NotAuthorizedException("Access revoked: account disabled or workspace suspended.")
    return user


async def factors(user: dict[str, Any]) -> list[str]:
    """The second factors `user` has: `totp` and/or `passkey` (web/auth/webauthn.py)."""
    from web.auth import webauthn

    out = ["totp"] if user["mfa_enabled"] else []
    if await webauthn.has_passkeys(user["id"], user["tenant_id"]):
        out.append("passkey")
    return out


async def pending_kind(user: dict[str, Any]) -> str | None:
    """What a sign-in of `user` still asks: `verify` a code or a passkey, `setup` first (the
    tenant requires a second factor), or None. A passkey alone is a second factor."""
    kind, _ = await pending(user)
    return kind


async def pending(user: dict[str, Any]) -> tuple[str | None, list[str]]:
    """`pending_kind` and the factors a `verify` step may use."""
    have = await factors(user)
    if have:
        return "verify", have
    async with db.scope(user["tenant_id"]):
        tenant = repo.one(await repo.tenant_by_id(user["tenant_id"]))
    return ("setup" if tenant["require_mfa"] else None), []
