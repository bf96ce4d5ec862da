"""Role guards. Every non-public route carries one; the authorization matrix test checks it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

ROLES = ("app_admin", "partner_admin", "tenant_admin", "support", "user")

Guard = Callable[[ASGIConnection, BaseRouteHandler], Awaitable[None]]


def requires_role(*roles: str) -> Guard:
    """A guard admitting only callers whose current role is one of `roles`."""
    allowed = frozenset(roles)

    # Async on purpose: Litestar runs sync guards in a worker thread, a hop on every request.
    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if connection.user.role not in allowed:
            raise PermissionDeniedException(f"This requires the role {' or '.join(roles)}.")

    guard.__name__ = "requires_" + "_or_".join(roles)
    guard.roles = allowed  # type: ignore[attr-defined]
    return guard


requires_app_admin = requires_role("app_admin")
requires_partner_admin = requires_role("partner_admin")
requires_tenant_admin = requires_role("tenant_admin")
requires_tenant_member = requires_role("tenant_admin", "support", "user")
# People who answer conversations (docs/human-in-the-loop.md): takeover, hand back, inbox.
requires_support = requires_role("tenant_admin", "support")
requires_authenticated = requires_role(*ROLES)
# External systems (API keys, role `service`) may start and read executions, nothing else.
requires_execution_caller = requires_role("tenant_admin", "support", "user", "service")
