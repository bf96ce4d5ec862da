"""Who is calling: the authenticated principal and the per-request status check."""

from __future__ import annotations

import uuid

import msgspec

from runtime import db
from web.auth import repository


class Principal(msgspec.Struct, frozen=True):
    """The caller of a request, as the database says now (not only as the token said)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    role: str
    partner_id: uuid.UUID | None
    suspended: bool = False
    """The tenant is suspended (unpaid invoice, or by a partner or app admin): the caller signs in
    and reads, but only auth and the tenant's billing routes accept a write
    (`web.auth.middleware.suspended_may`) and admission refuses every execution."""


SIGN_IN_STATUSES = ("active", "suspended")
"""Tenant statuses whose users still sign in: a suspended workspace's admin must reach Billing."""


class Inactive(Exception):
    """The user is deactivated, or its tenant or partner is suspended."""


async def load_principal(
    user_id: uuid.UUID, tenant_id: uuid.UUID, session_epoch: int | None = None
) -> Principal | None:
    """Fetch role and status in one indexed query; None when the user no longer exists.

    Runs on every authenticated request so that deactivating a user or suspending a tenant
    takes effect on the very next request, whatever access tokens are still in flight.
    A token issued before the user's last password reset or change (`session_epoch`) is
    refused the same way.
    """
    async with db.scope(tenant_id):
        row = await repository.principal_row(user_id)
    if row is None:
        return None
    if not row["is_active"] or row["tenant_status"] not in SIGN_IN_STATUSES:
        raise Inactive("account disabled or workspace closed")
    if row["partner_status"] not in (None, "active"):
        raise Inactive("the partner of this workspace is suspended")
    if session_epoch is not None and session_epoch != row["session_epoch"]:
        raise Inactive("signed out by a password change")
    suspended = row["tenant_status"] == "suspended"
    return Principal(user_id, tenant_id, row["role"], row["partner_id"], suspended)
