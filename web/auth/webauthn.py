"""Passkeys (WebAuthn, python-fido2) as a second factor beside TOTP.

- Registration, signed in: `register_begin` answers PublicKeyCredentialCreationOptions (JSON,
  base64url) and keeps the ceremony's state server-side (`webauthn_challenges`: single use,
  five minutes, bound to the user); `register_complete` verifies the attestation ("none" is
  asked: we need the key, not the make) and stores the credential.
- Login: after the password, the MFA challenge token (web/auth/mfa.py) names the user;
  `login_begin` answers request options for that user's credentials, its state bound to the
  user and to the SHA-256 of that very token; `login_complete` takes the state (deleting it:
  a replayed assertion finds none), verifies the signature and the sign count (not above
  the last one seen while either is non-zero: a cloned authenticator), and the caller opens
  the session.
- RP id: the host of the public URL (`HB_PUBLIC_URL`), except that a loopback IP address
  becomes `localhost`: browsers refuse IP addresses as RP ids. Origins accepted: https on
  the RP id or a subdomain, or http on localhost (a secure context), any port.

docs/identity.md "Passkeys".
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestationConveyancePreference,
    AttestedCredentialData,
    AuthenticationResponse,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from runtime import db
from runtime.errors import CodedError, ErrorCode
from runtime.settings import get_settings
from web import audit

CEREMONY_TTL = dt.timedelta(minutes=5)
RP_NAME = "Hirebuddha"
MAX_PASSKEYS = 20


def refused(reason: str = "The passkey was not accepted.") -> CodedError:
    """The one coded answer for a failed ceremony (the audit row says which way)."""
    return CodedError(ErrorCode.PASSKEY_REFUSED, reason, 401)


def rp_id() -> str:
    """The relying party id: the public URL's host, `localhost` for a loopback address."""
    host = urlsplit(get_settings().http.public_url).hostname or "localhost"
    try:
        if ipaddress.ip_address(host).is_loopback:
            return "localhost"
    except ValueError:
        pass
    return host


def origin_allowed(origin: str) -> bool:
    """https on the RP id (or a subdomain of it); http only on localhost."""
    rp = rp_id()
    try:
        url = urlsplit(origin)
        host = url.hostname or ""
    except ValueError:
        return False
    if not (host == rp or host.endswith("." + rp)):
        return False
    return url.scheme == "https" or (url.scheme == "http" and host == "localhost")


def _server() -> Fido2Server:
    return Fido2Server(
        PublicKeyCredentialRpEntity(name=RP_NAME, id=rp_id()),
        attestation=AttestationConveyancePreference.NONE,
        verify_origin=origin_allowed,
    )


def _json(options: Any) -> dict[str, Any]:
    """fido2's options as JSON (bytes as base64url): the `publicKey` member."""
    data = dict(options)
    return json.loads(json.dumps(data.get("publicKey", data), default=_b64))


def _b64(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _credentials(user_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT id, credential_id, credential_data, sign_count FROM webauthn_credentials "
        "WHERE user_id = $1 ORDER BY created_at",
        user_id,
    )
    return [dict(r) for r in rows]


async def _keep_state(
    user_id: uuid.UUID, tenant_id: uuid.UUID, purpose: str, state: Mapping[str, Any], token_hash: str | None
) -> None:
    """Replace the user's pending ceremony of this purpose (and drop expired ones)."""
    await db.execute(
        "DELETE FROM webauthn_challenges WHERE user_id = $1 AND (purpose = $2 OR expires_at < now())",
        user_id,
        purpose,
    )
    await db.execute(
        "INSERT INTO webauthn_challenges "
        "(id, tenant_id, user_id, purpose, state, mfa_token_hash, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, now() + $7::interval)",
        uuid.uuid4(),
        tenant_id,
        user_id,
        purpose,
        json.dumps(dict(state)),
        token_hash,
        CEREMONY_TTL,
    )


async def _take_state(user_id: uuid.UUID, purpose: str, token_hash: str | None) -> dict[str, Any] | None:
    """The pending ceremony's state, deleted as it is read (single use); refused when there
    is none, it expired, or (login) it was begun for another MFA challenge."""
    row = await db.fetchrow(
        "DELETE FROM webauthn_challenges WHERE user_id = $1 AND purpose = $2 "
        "AND mfa_token_hash IS NOT DISTINCT FROM $3 RETURNING state, expires_at > now() AS live",
        user_id,
        purpose,
        token_hash,
    )
    if row is None or not row["live"]:
        return None
    return dict(json.loads(row["state"]))


async def _no_ceremony(user_id: uuid.UUID, tenant_id: uuid.UUID, step: str, ip: str | None) -> CodedError:
    """A completion with no live ceremony: replayed, expired or begun for another challenge."""
    await audit.record(
        "mfa.passkey_refused", tenant_id=tenant_id, actor_id=user_id, ip=ip, step=step, reason="no_ceremony"
    )
    return refused("No passkey request is pending (it expired or was used); start again.")


# --- registration (signed in) ----------------------------------------------------------------


async def register_begin(user_id: uuid.UUID, tenant_id: uuid.UUID) -> dict[str, Any]:
    """Creation options for a new passkey of the caller (their existing ones excluded)."""
    async with db.scope(tenant_id):
        user = await db.fetchrow("SELECT email, full_name FROM users WHERE id = $1", user_id)
        if user is None:
            raise refused()
        existing = await _credentials(user_id)
        if len(existing) >= MAX_PASSKEYS:
            raise CodedError(ErrorCode.CONFLICT, f"At most {MAX_PASSKEYS} passkeys per account.", 409)
        options, state = _server().register_begin(
            PublicKeyCredentialUserEntity(
                name=user["email"], id=user_id.bytes, display_name=user["full_name"] or user["email"]
            ),
            credentials=[AttestedCredentialData(c["credential_data"]) for c in existing],
            resident_key_requirement=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.DISCOURAGED,
        )
        await _keep_state(user_id, tenant_id, "register", state, None)
    return _json(options)


async def register_complete(
    user_id: uuid.UUID, tenant_id: uuid.UUID, credential: dict[str, Any], name: str, ip: str | None
) -> dict[str, Any]:
    """Verify the new credential against the pending state and store it. The state is used
    up whatever the outcome (the refusal is committed with its audit row, then raised)."""
    async with db.scope(tenant_id):
        outcome = await _register(user_id, tenant_id, credential, name, ip)
    if isinstance(outcome, CodedError):
        raise outcome
    return outcome


async def _register(
    user_id: uuid.UUID, tenant_id: uuid.UUID, credential: dict[str, Any], name: str, ip: str | None
) -> dict[str, Any] | CodedError:
    state = await _take_state(user_id, "register", None)
    if state is None:
        return await _no_ceremony(user_id, tenant_id, "register", ip)
    try:
        response = RegistrationResponse.from_dict(credential)
        auth_data = _server().register_complete(state, response)
        cred = auth_data.credential_data
        if cred is None:
            raise ValueError("no attested credential data")
    except Exception as exc:  # fido2 raises ValueError and friends for any bad input
        await audit.record(
            "mfa.passkey_refused", tenant_id=tenant_id, actor_id=user_id, ip=ip, step="register"
        )
        return refused(f"The passkey could not be registered ({_why(exc)}).")
    taken = await db.fetchrow(
        "SELECT 1 FROM webauthn_credentials WHERE credential_id = $1", cred.credential_id
    )
    if taken is not None:
        return CodedError(ErrorCode.CONFLICT, "This passkey is registered already.", 409)
    row = await db.fetchrow(
        "INSERT INTO webauthn_credentials (id, tenant_id, user_id, credential_id, credential_data, "
        "sign_count, name) VALUES ($1, $2, $3, $4, $5, $6, $7) "
        "RETURNING id, name, created_at, last_used_at",
        uuid.uuid4(),
        tenant_id,
        user_id,
        bytes(cred.credential_id),
        bytes(cred),
        auth_data.counter,
        name,
    )
    assert row is not None
    await audit.record(
        "mfa.passkey_added",
        tenant_id=tenant_id,
        actor_id=user_id,
        target_type="webauthn_credential",
        target_id=row["id"],
        ip=ip,
        name=name,
    )
    return dict(row)


def _why(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]


async def list_credentials(user_id: uuid.UUID, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """The caller's passkeys (no key material)."""
    async with db.scope(tenant_id):
        rows = await db.fetch(
            "SELECT id, name, created_at, last_used_at FROM webauthn_credentials WHERE user_id = $1 "
            "ORDER BY created_at",
            user_id,
        )
    return [dict(r) for r in rows]


async def delete_credential(
    user_id: uuid.UUID, tenant_id: uuid.UUID, credential_id: uuid.UUID, ip: str | None
) -> None:
    """Remove one of the caller's passkeys; refused when it is their last second factor and
    the workspace requires one."""
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "SELECT c.id, c.name, u.mfa_enabled, t.require_mfa, "
            "(SELECT count(*) FROM webauthn_credentials o WHERE o.user_id = c.user_id) AS n "
            "FROM webauthn_credentials c JOIN users u ON u.id = c.user_id "
            "JOIN tenants t ON t.id = u.tenant_id "
            "WHERE c.id = $1 AND c.user_id = $2 FOR UPDATE OF c",
            credential_id,
            user_id,
        )
        if row is None:
            raise CodedError(ErrorCode.NOT_FOUND, "No such passkey.", 404)
        if row["require_mfa"] and not row["mfa_enabled"] and row["n"] <= 1:
            raise CodedError(
                ErrorCode.MFA_REQUIRED, "Your workspace requires a second factor: add another one first.", 403
            )
        await db.execute("DELETE FROM webauthn_credentials WHERE id = $1", credential_id)
        await audit.record(
            "mfa.passkey_removed",
            tenant_id=tenant_id,
            actor_id=user_id,
            target_type="webauthn_credential",
            target_id=credential_id,
            ip=ip,
            name=row["name"],
        )


async def has_passkeys(user_id: uuid.UUID, tenant_id: uuid.UUID) -> bool:
    """Whether the user has at least one passkey (a second factor on its own)."""
    async with db.scope(tenant_id):
        row = await db.fetchrow("SELECT 1 FROM webauthn_credentials WHERE user_id = $1 LIMIT 1", user_id)
    return row is not None


# --- login (after the password) --------------------------------------------------------------


async def login_begin(user_id: uuid.UUID, tenant_id: uuid.UUID, mfa_token: str) -> dict[str, Any]:
    """Request options for the user's passkeys, bound to this MFA challenge."""
    async with db.scope(tenant_id):
        creds = await _credentials(user_id)
        if not creds:
            raise refused("This account has no passkey.")
        options, state = _server().authenticate_begin(
            [AttestedCredentialData(c["credential_data"]) for c in creds],
            user_verification=UserVerificationRequirement.DISCOURAGED,
        )
        await _keep_state(user_id, tenant_id, "login", state, _digest(mfa_token))
    return _json(options)


async def login_complete(
    user_id: uuid.UUID, tenant_id: uuid.UUID, mfa_token: str, credential: dict[str, Any], ip: str | None
) -> None:
    """Verify an assertion for the pending login ceremony; raises `refused` otherwise. The
    state is used up whatever the outcome (refusal and audit row committed, then raised)."""
    async with db.scope(tenant_id):
        error = await _login(user_id, tenant_id, mfa_token, credential, ip)
    if error is not None:
        raise error


async def _login(
    user_id: uuid.UUID, tenant_id: uuid.UUID, mfa_token: str, credential: dict[str, Any], ip: str | None
) -> CodedError | None:
    state = await _take_state(user_id, "login", _digest(mfa_token))
    if state is None:
        return await _no_ceremony(user_id, tenant_id, "login", ip)
    creds = await _credentials(user_id)
    try:
        response = AuthenticationResponse.from_dict(credential)
        matched = _server().authenticate_complete(
            state, [AttestedCredentialData(c["credential_data"]) for c in creds], response
        )
    except Exception:  # unknown (or another user's) credential, bad signature, origin, challenge
        await audit.record("mfa.passkey_refused", tenant_id=tenant_id, actor_id=user_id, ip=ip, step="login")
        return refused()
    row = next(c for c in creds if bytes(c["credential_id"]) == bytes(matched.credential_id))
    counter = response.response.authenticator_data.counter
    # Atomic: a counter not above the stored one (either non-zero) is a cloned authenticator.
    moved = await db.fetchrow(
        "UPDATE webauthn_credentials SET sign_count = $2, last_used_at = now() WHERE id = $1 "
        "AND ((sign_count = 0 AND $2 = 0) OR sign_count < $2) RETURNING id",
        row["id"],
        counter,
    )
    if moved is None:
        await audit.record(
            "mfa.passkey_clone_suspected",
            tenant_id=tenant_id,
            actor_id=user_id,
            target_type="webauthn_credential",
            target_id=row["id"],
            ip=ip,
            sign_count=counter,
            stored=row["sign_count"],
        )
        return refused("This passkey's signature counter went backwards; it may be cloned.")
    await audit.record(
        "mfa.passkey_used",
        tenant_id=tenant_id,
        actor_id=user_id,
        target_type="webauthn_credential",
        target_id=row["id"],
        ip=ip,
    )
    return None
