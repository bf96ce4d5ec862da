"""Tenant admin DTOs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from web.schemas import Email, Name, Password

TenantRole = Literal["tenant_admin", "user"]


class TenantPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    full_name: Name
    password: Password
    role: TenantRole = "user"


class UserPatch(msgspec.Struct, forbid_unknown_fields=True):
    full_name: Name | msgspec.UnsetType = msgspec.UNSET
    role: TenantRole | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class ApiKeyOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


class ApiKeyCreated(msgspec.Struct):
    id: uuid.UUID
    name: str
    prefix: str
    key: Annotated[str, msgspec.Meta(description="The key itself; shown only in this answer.")]
    created_at: dt.datetime
