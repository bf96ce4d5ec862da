"""Access tokens (JWT, HS256 pinned, iss/aud checked) and opaque refresh/API key material."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid

import jwt
import msgspec

from runtime.settings import get_settings

ALGORITHMS = ["HS256"]


class Claims(msgspec.Struct, frozen=True):
    """What an access token says about its bearer."""

    sub: uuid.UUID
    tenant_id: uuid.UUID
    role: str
    partner_id: uuid.UUID | None
    exp: int
    iat: int
    jti: str
    sv: int = 0
    """The user's session epoch when issued; a password reset or change bumps it."""


class TokenError(Exception):
    """The token is missing, malformed, forged, expired or for another audience."""


def issue_access_token(
    user_id: uuid.UUID,
    tenant_id: uuid.UUID,
    role: str,
    partner_id: uuid.UUID | None,
    session_epoch: int = 0,
) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds."""
    auth = get_settings().auth
    now = int(time.time())
    payload = {
        "sub": str(user_id),
        "tenant_id": str(tenant_id),
        "role": role,
        "partner_id": str(partner_id) if partner_id else None,
        "iat": now,
        "exp": now + auth.access_ttl_s,
        "jti": uuid.uuid4().hex,
        "sv": session_epoch,
        "iss": auth.issuer,
        "aud": auth.audience,
    }
    return jwt.encode(payload, auth.secret_key, algorithm="HS256"), auth.access_ttl_s


VERIFIED_MAX = 4096
"""Verified access tokens kept per process (`decode_access_token`)."""
_verified: dict[tuple[str, str, str, str], Claims] = {}


def decode_access_token(token: str) -> Claims:
    """Verify signature, algorithm, expiry, issuer and audience; raise TokenError otherwise.

    A token that verified once is kept with its claims (VERIFIED_MAX per process, oldest out
    first) and only its expiry is checked again: the signature and the rest cannot change,
    and PyJWT's verification was about a tenth of the web's CPU for a plain API call (py-spy
    at 500 requests/s, issue 11). Revocation is not the token's business: every request
    still loads its user and tenant (`load_principal`, session epoch included).
    """
    auth = get_settings().auth
    key = (token, auth.secret_key, auth.issuer, auth.audience)
    claims = _verified.get(key)
    if claims is not None:
        if claims.exp > time.time():
            return claims
        del _verified[key]
        raise TokenError("Signature has expired")
    claims = _verify(token)
    if len(_verified) >= VERIFIED_MAX:
        del _verified[next(iter(_verified))]
    _verified[key] = claims
    return claims


def _verify(token: str) -> Claims:
    auth = get_settings().auth
    try:
        payload = jwt.decode(
            token,
            auth.secret_key,
            algorithms=ALGORITHMS,
            issuer=auth.issuer,
            audience=auth.audience,
            options={"require": ["sub", "tenant_id", "role", "exp", "iat", "jti", "iss", "aud"]},
        )
        return msgspec.convert(payload, Claims, strict=False)
    except (jwt.PyJWTError, msgspec.ValidationError) as exc:
        raise TokenError(str(exc)) from exc


def sha256_hex(value: str) -> str:
    """Digest under which opaque tokens and API keys are stored."""
    return hashlib.sha256(value.encode()).hexdigest()


def new_refresh_token() -> str:
    """A fresh opaque refresh token (256 bits)."""
    return secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str]:
    """An API key `hb_<prefix>_<secret>` and its public prefix."""
    prefix = secrets.token_hex(6)
    return f"hb_{prefix}_{secrets.token_urlsafe(32)}", prefix
