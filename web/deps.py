"""What every controller is handed: the caller by dependency injection, 404s, timestamps.

`me: Principal` in a handler's signature is the authenticated caller, injected by
`provide_principal` (registered once for the whole API in `web.app`). Each domain adds its
own providers in its `deps.py` (`provide_<domain>_service`), see README "How a web domain is
laid out".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request
from litestar.di import Provide
from litestar.exceptions import NotFoundException

from web.auth.identity import Principal


async def provide_principal(request: Request) -> Principal:
    """The authenticated caller of this request (set by the bearer middleware)."""
    return request.user


def principal(request: Request) -> Principal:
    """The authenticated caller of this request (prefer `me: Principal`, injected)."""
    return request.user


async def provide_client_ip(request: Request) -> str | None:
    """The peer address, for the audit trail."""
    return client_ip(request)


API_DEPENDENCIES = {"me": Provide(provide_principal), "ip": Provide(provide_client_ip)}
"""Injectable into every handler under /api/v1: `me` (the caller) and `ip` (its address)."""


def found(row: dict[str, Any] | None, what: str) -> dict[str, Any]:
    """The row, or a 404 naming what was not found (also for other tenants' ids)."""
    if row is None:
        raise NotFoundException(f"{what} not found.")
    return row


def utcnow() -> dt.datetime:
    """Aware UTC now."""
    return dt.datetime.now(dt.UTC)


def client_ip(request: Request) -> str | None:
    """The peer address, for the audit trail."""
    return request.client.host if request.client else None
