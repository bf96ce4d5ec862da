"""Auth DTOs (docs/contract.md "REST")."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec

from web.schemas import Email, Name, Password


class RegisterIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    full_name: Name
    workspace_name: Name | None = None


class LoginIn(msgspec.Struct):
    email: Email
    password: Password


class RefreshIn(msgspec.Struct):
    refresh_token: str | None = None


class UserOut(msgspec.Struct):
    id: uuid.UUID
    email: str
    full_name: str
    role: str
    tenant_id: uuid.UUID
    is_active: bool
    partner_id: uuid.UUID | None = None
    is_verified: bool = False
    mfa_enabled: bool = False


class TenantOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    status: str
    partner_id: uuid.UUID | None
    tier: str
    max_concurrency: int | None
    """A per-tenant override of the tier's concurrent executions; None: the tier's."""
    require_mfa: bool = False


class PartnerOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    status: str
    commission_pct: str
    commission_basis: str


class RegisterOut(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int
    user: UserOut
    tenant: TenantOut
    refresh_token: str


class LoginOut(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int
    user: UserOut
    refresh_token: str


class MeOut(msgspec.Struct):
    user: UserOut
    tenant: TenantOut
    role: str
    partner: PartnerOut | None = None


class PendingOut(msgspec.Struct):
    """Nothing is signed in yet: a link was mailed to `email` (domain join, password reset)."""

    status: str
    email: str


class TokenIn(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class VerifiedOut(msgspec.Struct):
    email: str
    verified: bool


class ForgotIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email


class ResetIn(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    password: Password


class ProfilePatch(msgspec.Struct, forbid_unknown_fields=True):
    full_name: Name


class EmailChangeIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class PasswordChangeIn(msgspec.Struct, forbid_unknown_fields=True):
    old_password: Password
    new_password: Password


class AcceptIn(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    full_name: Name
    password: Password


Code = Annotated[str, msgspec.Meta(min_length=6, max_length=32, pattern=r"^[0-9a-fA-F -]+$")]


class MfaChallengeOut(msgspec.Struct):
    """Login passed the password; a second factor is asked (`verify`) or must be set up
    first (`setup`, the tenant requires one). No access or refresh token yet."""

    mfa_required: bool
    kind: str
    mfa_token: str
    expires_in: int
    factors: list[str] = []
    """For `verify`: the factors the account has, `totp` and/or `passkey`."""


class MfaVerifyIn(msgspec.Struct, forbid_unknown_fields=True):
    mfa_token: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    code: Code


class MfaTokenIn(msgspec.Struct, forbid_unknown_fields=True):
    mfa_token: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class PasskeyRegisterIn(msgspec.Struct, forbid_unknown_fields=True):
    """The new credential as `PublicKeyCredential.toJSON()` gives it, and a name for it."""

    credential: dict[str, Any]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class PasskeySetupIn(msgspec.Struct, forbid_unknown_fields=True):
    """The set-up challenge token, the new credential (`PublicKeyCredential.toJSON()`) and a
    name for it: a passkey as the first second factor, during sign-in."""

    mfa_token: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    credential: dict[str, Any]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class PasskeyLoginIn(msgspec.Struct, forbid_unknown_fields=True):
    """The MFA challenge token and the assertion (`PublicKeyCredential.toJSON()`)."""

    mfa_token: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    credential: dict[str, Any]


class PasskeyOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


class MfaCodeIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Code


class MfaSetupOut(msgspec.Struct):
    secret: str
    provisioning_uri: str


class MfaEnabledOut(msgspec.Struct):
    recovery_codes: list[str]
    session: LoginOut | None = None


class MfaStatusOut(msgspec.Struct):
    enabled: bool
    recovery_codes_left: int
    required_by_tenant: bool


class PasswordIn(msgspec.Struct, forbid_unknown_fields=True):
    password: Password


class OidcProviderOut(msgspec.Struct):
    slug: str
    display_name: str
    kind: str


class LinkIn(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    password: Password
