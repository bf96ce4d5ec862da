"""Bearer authentication for every route that is not explicitly public."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from runtime.errors import SUSPENDED_MESSAGE, CodedError
from web.auth.api_keys import authenticate_api_key
from web.auth.identity import Inactive, Principal, load_principal
from web.auth.tokens import Claims, TokenError, decode_access_token


def bearer_token(connection: ASGIConnection) -> str | None:
    """The token of an `Authorization: Bearer ...` header, if any."""
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def authenticate_token(token: str) -> AuthenticationResult:
    """Verify an access token and the current status of its user and tenant."""
    try:
        claims: Claims = decode_access_token(token)
    except TokenError as exc:
        raise NotAuthorizedException("Invalid or expired access token.") from exc
    try:
        principal = await load_principal(claims.sub, claims.tenant_id, claims.sv)
    except Inactive as exc:
        raise NotAuthorizedException(f"Access revoked: {exc}.") from exc
    if principal is None:
        raise NotAuthorizedException("Invalid or expired access token.")
    return AuthenticationResult(user=principal, auth=claims)


SUSPENDED_WRITES = ("/api/v1/auth/", "/api/v1/tenant/billing/")
"""Path prefixes a suspended tenant's users may still write to: signing in and out, and the
tenant admin's Billing (add a card, pay), so that paying restores the workspace."""
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def suspended_may(connection: ASGIConnection) -> bool:
    """May a suspended tenant's caller make this request? Reads, sockets (admission refuses
    each message on them), auth and billing; every other write is refused `tenant_suspended`."""
    if connection.scope["type"] != "http" or connection.scope.get("method", "GET") in READ_METHODS:
        return True
    return connection.url.path.startswith(SUSPENDED_WRITES)


def refuse_suspended(connection: ASGIConnection, principal: Principal) -> None:
    """403 `tenant_suspended` for a write of a suspended tenant outside auth and billing."""
    if principal.suspended and not suspended_may(connection):
        # An HTTP error caused by the coded one: REST keeps the code (web.errors), and routers
        # with their own error shape (the OpenAI-compatible API) still recognise a 403.
        raise PermissionDeniedException(SUSPENDED_MESSAGE) from CodedError(
            "tenant_suspended", SUSPENDED_MESSAGE, 403
        )


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    """Access tokens for people, `hb_...` API keys for external systems (role `service`).

    Routes opt out with `opt={"exclude_from_auth": True}` (login, register, health...).
    """

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        token = bearer_token(connection)
        if token is None:
            raise NotAuthorizedException("Missing bearer token.")
        if token.startswith("hb_"):
            principal = await authenticate_api_key(token)
            if principal is None:
                raise NotAuthorizedException("Invalid or revoked API key.")
            refuse_suspended(connection, principal)
            return AuthenticationResult(user=principal, auth=None)
        result = await authenticate_token(token)
        refuse_suspended(connection, result.user)
        return result


__all__ = ["BearerAuthMiddleware", "authenticate_token", "bearer_token", "PermissionDeniedException"]
