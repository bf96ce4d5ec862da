"""Sign-in with an OpenID provider (Google, Microsoft, any OIDC issuer the app admin adds).

The authorization code flow with PKCE (S256), state and nonce (docs/identity.md "OIDC"):

1. `start`: a random state, nonce and PKCE verifier are stored (`oidc_logins`, the state
   hashed, the verifier encrypted, 10 minutes, single-use); the state also goes into a
   cookie of the browser that started, and the browser is sent to the provider (the
   request and the PKCE challenge made by Authlib).
2. `finish` (the callback): the state must be live, unused, of this provider and equal to
   the cookie (no login CSRF); the code is exchanged with the verifier (Authlib prepares
   the request; it goes through the URL guard's transport, which Authlib's own httpx
   client, built on another httpx, cannot take); the ID
   token's signature is checked against the provider's JWKS and its claims (iss, aud, exp,
   iat, nonce, azp when several audiences) with joserfc.
3. Who it is: a linked identity (provider + subject) signs its user in. Otherwise the email
   must be verified by the provider; an existing local account with it is linked only after
   its password is given (`link`), a claimed domain joins its tenant as `user`, anything
   else creates a workspace as self-registration does.

Discovery documents and JWKS are fetched through the URL guard (runtime/urlguard.py) and
cached for an hour; an ID token signed with a key id the cache lacks refreshes the JWKS once
(key rotation).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
import uuid
from typing import Any

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from runtime import crypto, db
from runtime.errors import CodedError, ErrorCode
from runtime.settings import get_settings
from runtime.urlguard import guarded_transport
from web import audit
from web.auth import links, recovery
from web.auth import repository as repo
from web.auth.passwords import hash_password, verify_password
from web.auth.tokens import sha256_hex

LOGIN_TTL = dt.timedelta(minutes=10)
CACHE_TTL_S = 3600.0
LEEWAY_S = 60
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
STATE_COOKIE = "hb_oidc_state"
SCOPE = "openid email profile"

_metadata: dict[str, tuple[float, dict[str, Any]]] = {}
_jwks: dict[str, tuple[float, KeySet]] = {}


def failed(message: str) -> CodedError:
    """The code exchange or the ID token failed (a 400: the sign-in must be started again)."""
    return CodedError(ErrorCode.OIDC_FAILED, message, 400)


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=guarded_transport(), timeout=10)


async def _get_json(url: str) -> dict[str, Any]:
    try:
        async with _client() as client:
            response = await client.get(url)
            response.raise_for_status()
            data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise CodedError(
            ErrorCode.OIDC_UNAVAILABLE, f"The identity provider did not answer ({type(exc).__name__}).", 503
        ) from exc
    if not isinstance(data, dict):
        raise CodedError(ErrorCode.OIDC_UNAVAILABLE, "The identity provider answered nonsense.", 503)
    return data


async def metadata(issuer: str) -> dict[str, Any]:
    """The issuer's discovery document (cached); its `issuer` must be the configured one."""
    cached = _metadata.get(issuer)
    if cached and time.monotonic() - cached[0] < CACHE_TTL_S:
        return cached[1]
    doc = await _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    if doc.get("issuer") != issuer:
        raise CodedError(ErrorCode.OIDC_UNAVAILABLE, "The discovery document names another issuer.", 503)
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(doc.get(key), str):
            raise CodedError(ErrorCode.OIDC_UNAVAILABLE, f"The discovery document lacks {key}.", 503)
    _metadata[issuer] = (time.monotonic(), doc)
    return doc


async def keys(jwks_uri: str, refresh: bool = False) -> KeySet:
    """The provider's signing keys (cached)."""
    cached = _jwks.get(jwks_uri)
    if cached and not refresh and time.monotonic() - cached[0] < CACHE_TTL_S:
        return cached[1]
    try:
        keyset = KeySet.import_key_set(await _get_json(jwks_uri))  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError) as exc:
        raise CodedError(ErrorCode.OIDC_UNAVAILABLE, "The provider's JWKS cannot be read.", 503) from exc
    _jwks[jwks_uri] = (time.monotonic(), keyset)
    return keyset


def validate_id_token(
    id_token: str, keyset: KeySet, *, issuer: str, client_id: str, nonce: str
) -> dict[str, Any]:
    """The claims of an ID token whose signature and iss, aud, exp, iat, nonce hold; else OIDC_FAILED."""
    try:
        token = jwt.decode(id_token, keyset, algorithms=ALGORITHMS)
    except (JoseError, ValueError) as exc:
        raise failed(f"The ID token's signature does not verify ({type(exc).__name__}).") from exc
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY_S,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(token.claims)
    except JoseError as exc:
        raise failed(f"The ID token is not for this sign-in ({exc.error}: {exc.description}).") from exc
    aud = token.claims["aud"]
    if isinstance(aud, list) and len(aud) > 1 and token.claims.get("azp") != client_id:
        raise failed("The ID token was issued to another party (azp).")
    return dict(token.claims)


async def _verified_claims(id_token: str, jwks_uri: str, **expected: str) -> dict[str, Any]:
    try:
        return validate_id_token(id_token, await keys(jwks_uri), **expected)
    except CodedError as exc:
        if "signature" not in exc.message:
            raise
        # Perhaps the provider rotated its keys since we cached them: fetch once more.
        return validate_id_token(id_token, await keys(jwks_uri, refresh=True), **expected)


def redirect_uri(slug: str) -> str:
    """The callback registered at the provider for this platform."""
    return f"{get_settings().http.public_url}/api/v1/auth/oidc/{slug}/callback"


async def provider_by_slug(slug: str) -> dict[str, Any]:
    """An enabled provider (platform data, no tenant); 404 otherwise."""
    async with db.scope():
        row = await db.fetchrow(
            "SELECT id, slug, display_name, kind, issuer, client_id, client_secret FROM identity_providers "
            "WHERE slug = $1 AND enabled",
            slug,
        )
    if row is None:
        raise CodedError(ErrorCode.NOT_FOUND, f"No identity provider {slug!r}.", 404)
    return dict(row)


async def enabled_providers() -> list[dict[str, Any]]:
    """The providers the login page offers."""
    async with db.scope():
        rows = await db.fetch(
            "SELECT slug, display_name, kind FROM identity_providers WHERE enabled ORDER BY display_name"
        )
    return [dict(r) for r in rows]


async def start(slug: str) -> tuple[str, str]:
    """The provider's authorization URL for a new sign-in, and the state for the cookie."""
    provider = await provider_by_slug(slug)
    meta = await metadata(provider["issuer"])
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    async with db.scope():
        await db.execute(
            "INSERT INTO oidc_logins (state_hash, provider_id, nonce, code_verifier, expires_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            sha256_hex(state),
            provider["id"],
            nonce,
            crypto.encrypt(verifier),
            dt.datetime.now(dt.UTC) + LOGIN_TTL,
        )
    url = prepare_grant_uri(
        meta["authorization_endpoint"],
        provider["client_id"],
        "code",
        redirect_uri=redirect_uri(slug),
        scope=SCOPE,
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )
    return url, state


async def _exchange(provider: dict[str, Any], endpoint: str, code: str, verifier: str) -> dict[str, Any]:
    """The token endpoint's answer for this code and PKCE verifier (client_secret_post)."""
    body = prepare_token_request(
        "authorization_code",
        code=code,
        redirect_uri=redirect_uri(provider["slug"]),
        code_verifier=verifier,
        client_id=provider["client_id"],
        client_secret=crypto.decrypt(provider["client_secret"]),
    )
    try:
        async with _client() as client:
            response = await client.post(
                endpoint,
                content=body,
                headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            )
            answer = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise CodedError(
            ErrorCode.OIDC_UNAVAILABLE, "The provider's token endpoint did not answer.", 503
        ) from exc
    if response.status_code != 200 or not isinstance(answer, dict) or "error" in answer:
        error = answer.get("error") if isinstance(answer, dict) else response.status_code
        raise failed(f"The provider refused the code ({error}).")
    return answer


class Outcome:
    """What a callback leads to: a signed-in user, or a local account awaiting its password."""

    def __init__(self, user: dict[str, Any] | None = None, link_token: str | None = None) -> None:
        self.user, self.link_token = user, link_token


async def finish(
    slug: str, code: str, state: str, cookie_state: str | None, iss: str | None, ip: str | None
) -> Outcome:
    """Check state, exchange the code, validate the ID token, and find or create the user.

    `iss` is the authorization response's issuer (RFC 9207), when the provider sends one: it
    must be this provider's (a mix-up of providers is refused before the code goes anywhere).
    """
    provider = await provider_by_slug(slug)
    if iss is not None and iss != provider["issuer"]:
        raise failed("The answer came from another identity provider.")
    if (
        not state
        or len(state) > 200
        or cookie_state is None
        or not secrets.compare_digest(state, cookie_state)
    ):
        raise CodedError(ErrorCode.OIDC_STATE_INVALID, "This sign-in was not started in this browser.", 400)
    async with db.scope():
        login = await db.fetchrow(
            "UPDATE oidc_logins SET used_at = now() WHERE state_hash = $1 AND provider_id = $2 "
            "AND used_at IS NULL AND expires_at > now() RETURNING nonce, code_verifier",
            sha256_hex(state),
            provider["id"],
        )
    if login is None:
        raise CodedError(ErrorCode.OIDC_STATE_INVALID, "This sign-in is unknown, expired or finished.", 400)
    meta = await metadata(provider["issuer"])
    token = await _exchange(provider, meta["token_endpoint"], code, crypto.decrypt(login["code_verifier"]))
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise failed("The provider sent no ID token.")
    claims = await _verified_claims(
        id_token,
        meta["jwks_uri"],
        issuer=provider["issuer"],
        client_id=provider["client_id"],
        nonce=login["nonce"],
    )
    return await _sign_in(provider, claims, ip)


async def _sign_in(provider: dict[str, Any], claims: dict[str, Any], ip: str | None) -> Outcome:
    subject = str(claims["sub"])
    # The provider's subject is all we know of the person yet: cross-tenant by nature.
    async with db.scope(system=True):
        linked = await db.fetchrow(
            "SELECT user_id, tenant_id FROM user_identities WHERE provider_id = $1 AND subject = $2",
            provider["id"],
            subject,
        )
        if linked is not None:
            await db.rescope(linked["tenant_id"])
            await audit.record(
                "auth.login",
                tenant_id=linked["tenant_id"],
                actor_id=linked["user_id"],
                ip=ip,
                via=provider["slug"],
            )
            return Outcome(user=repo.one(await repo.user_by_id(linked["user_id"])))
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email or claims.get("email_verified") is not True:
            raise CodedError(
                ErrorCode.OIDC_EMAIL_UNVERIFIED,
                "The identity provider does not vouch for this email address; sign in with your password.",
                403,
            )
        email = email.lower()
        local = await repo.login_row(email)
        if local is not None:
            await db.rescope(local["tenant_id"])
            token, _ = await links.issue(
                "link_identity",
                tenant_id=local["tenant_id"],
                user_id=local["id"],
                email=email,
                payload={"provider_id": str(provider["id"]), "subject": subject},
                ttl=LOGIN_TTL,
            )
            return Outcome(link_token=token)
        claimed = await recovery.claimed_tenant(email)
    name = str(claims.get("name") or email.partition("@")[0])[:200]
    unusable = await hash_password(secrets.token_urlsafe(32))  # until a reset sets one
    if claimed is not None:
        async with db.scope(claimed):
            user = await recovery.join_claimed(claimed, email, name, unusable, ip, via=provider["slug"])
    else:
        from web.auth.service import create_workspace

        user, _ = await create_workspace(email, secrets.token_urlsafe(32), name, None, ip, verified=True)
    async with db.scope(user["tenant_id"]):
        await _link(user["tenant_id"], user["id"], provider["id"], subject, email)
    return Outcome(user=user)


async def _link(
    tenant_id: uuid.UUID, user_id: uuid.UUID, provider_id: uuid.UUID, subject: str, email: str
) -> None:
    await db.execute(
        "INSERT INTO user_identities (tenant_id, user_id, provider_id, subject, email) "
        "VALUES ($1, $2, $3, $4, $5)",
        tenant_id,
        user_id,
        provider_id,
        subject,
        email,
    )
    await audit.record(
        "auth.identity_linked",
        tenant_id=tenant_id,
        actor_id=user_id,
        target_type="user",
        target_id=user_id,
        provider_id=str(provider_id),
    )


async def link(token: str, password: str, ip: str | None) -> dict[str, Any]:
    """Link a provider identity to the local account with its email, once its password is given."""
    async with db.scope(system=True):  # the link is all we know of the person
        row = await links.consume(("link_identity",), token)
        if row is None:
            raise recovery.refused()
        await db.rescope(row["tenant_id"])
        hashed = await repo.password_hash(row["user_id"])
        if not await verify_password(hashed, password):
            raise CodedError(ErrorCode.UNAUTHORIZED, "The password is not correct.", 401)
        await _link(
            row["tenant_id"],
            row["user_id"],
            uuid.UUID(row["payload"]["provider_id"]),
            row["payload"]["subject"],
            row["email"],
        )
        return repo.one(await repo.user_by_id(row["user_id"]))
