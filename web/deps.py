"""Helpers every controller uses: the caller, 404s, timestamps."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request
from litestar.exceptions import NotFoundException

from web.auth.identity import Principal


def principal(request: Request) -> Principal:
    """The authenticated caller of this request."""
    return request.user


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
