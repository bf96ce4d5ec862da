"""Bearer authentication for every route that is not explicitly public."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from web.auth.api_keys import authenticate_api_key
from web.auth.identity import Inactive, load_principal
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
            return AuthenticationResult(user=principal, auth=None)
        return await authenticate_token(token)


__all__ = ["BearerAuthMiddleware", "authenticate_token", "bearer_token", "PermissionDeniedException"]
