"""Partners, tenants, users and what authenticates them."""

from decimal import Decimal

from piccolo.columns import (
    JSONB,
    UUID,
    BigInt,
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from runtime.db import APP_DB
from runtime.tables.base import created_at, pk, updated_at


class Partner(Table, tablename="partners", db=APP_DB):
    """A sales partner reselling the platform to its own tenants."""

    id = pk()
    name = Varchar(length=200)
    admin_user_id = UUID(null=True, default=None)
    status = Varchar(length=20, default="active")
    commission_pct = Numeric(digits=(5, 2), default=Decimal("0"))
    commission_basis = Varchar(length=10, default="margin")  # margin | gross
    created_at = created_at()
    updated_at = updated_at()


class Tenant(Table, tablename="tenants", db=APP_DB):
    """A customer workspace; direct when partner is null."""

    id = pk()
    name = Varchar(length=200)
    status = Varchar(length=20, default="active")  # active | suspended
    partner = ForeignKey(
        db_column_name="partner_id",
        references=Partner,
        null=True,
        index=True,
        on_delete=OnDelete.restrict,
    )
    tier = Varchar(length=20, default="free")  # free | pro | enterprise
    max_concurrency = Integer(null=True, default=None)  # None: the tier's (tier_limits)
    webhook_secret = Text(null=True, default=None)  # Fernet token; signs webhook deliveries
    require_mfa = Boolean(default=False)
    created_at = created_at()
    updated_at = updated_at()


class User(Table, tablename="users", db=APP_DB):
    """A person; belongs to one tenant. Partner admins also name their partner."""

    id = pk()
    email = Varchar(length=320, unique=True)
    full_name = Varchar(length=200)
    hashed_password = Varchar(length=255)
    tenant = ForeignKey(
        db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.restrict
    )
    partner = ForeignKey(
        db_column_name="partner_id", references=Partner, null=True, on_delete=OnDelete.restrict
    )
    role = Varchar(length=20, default="tenant_admin")
    is_active = Boolean(default=True)
    is_verified = Boolean(default=False)
    session_epoch = Integer(default=0)  # bumped to end every session (password reset/change)
    mfa_secret = Text(null=True, default=None)  # Fernet token of the TOTP secret
    mfa_enabled = Boolean(default=False)
    mfa_last_step = BigInt(default=0)  # last TOTP time step accepted (no replay)
    created_at = created_at()
    updated_at = updated_at()


class RefreshToken(Table, tablename="refresh_tokens", db=APP_DB):
    """An opaque refresh token, stored as its SHA-256; one family per login."""

    id = pk()
    user = ForeignKey(db_column_name="user_id", references=User, index=True, on_delete=OnDelete.cascade)
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    token = Varchar(length=64, unique=True)  # sha256 hex of the opaque token
    family_id = UUID(index=True)
    expires_at = Timestamptz()
    revoked = Boolean(default=False)
    rotated_at = Timestamptz(null=True, default=None)
    created_at = created_at()


class ApiKey(Table, tablename="api_keys", db=APP_DB):
    """A tenant API key: shown once, stored as SHA-256, found by its public prefix."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    name = Varchar(length=200)
    prefix = Varchar(length=16, unique=True)
    key_hash = Varchar(length=64)
    created_by = UUID(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    created_at = created_at()


class AuditLog(Table, tablename="audit_log", db=APP_DB):
    """Who did what to whom; tenant is null for platform-level actions."""

    id = pk()
    tenant = ForeignKey(
        db_column_name="tenant_id",
        references=Tenant,
        null=True,
        index=True,
        on_delete=OnDelete.cascade,
    )
    actor_user_id = UUID(null=True, default=None)
    action = Varchar(length=64)
    target_type = Varchar(length=32, null=True, default=None)
    target_id = UUID(null=True, default=None)
    details = JSONB(default={})
    ip = Text(null=True, default=None)
    created_at = created_at()


class AccountToken(Table, tablename="account_tokens", db=APP_DB):
    """A single-use link mailed to a person (verify, change email, reset, join, invitation)."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    user = ForeignKey(db_column_name="user_id", references=User, null=True, on_delete=OnDelete.cascade)
    purpose = Varchar(length=20)
    token_hash = Varchar(length=64, unique=True)  # sha256 hex of the token in the link
    email = Varchar(length=320)
    role = Varchar(length=20, null=True, default=None)
    payload = JSONB(default={})
    created_by = UUID(null=True, default=None)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    created_at = created_at()


class DomainClaim(Table, tablename="domain_claims", db=APP_DB):
    """A tenant's claim on an email domain; sign-ups from a verified one join the tenant."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    domain = Varchar(length=253)
    token = Varchar(length=64)
    verified_at = Timestamptz(null=True, default=None)
    created_by = UUID(null=True, default=None)
    created_at = created_at()


class MfaRecoveryCode(Table, tablename="mfa_recovery_codes", db=APP_DB):
    """One single-use recovery code of a user's second factor, stored as SHA-256."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    user = ForeignKey(db_column_name="user_id", references=User, index=True, on_delete=OnDelete.cascade)
    code_hash = Varchar(length=64)
    used_at = Timestamptz(null=True, default=None)
    created_at = created_at()


class WebauthnCredential(Table, tablename="webauthn_credentials", db=APP_DB):
    """A user's passkey (WebAuthn credential), a second factor beside TOTP."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    user = ForeignKey(db_column_name="user_id", references=User, index=True, on_delete=OnDelete.cascade)
    credential_id = Bytea(unique=True)
    credential_data = Bytea()  # fido2 AttestedCredentialData: aaguid, id, COSE public key
    sign_count = BigInt(default=0)
    name = Varchar(length=100)
    created_at = created_at()
    last_used_at = Timestamptz(null=True, default=None)


class WebauthnChallenge(Table, tablename="webauthn_challenges", db=APP_DB):
    """Server-side state of one registration or login ceremony: single use, short-lived."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    user = ForeignKey(db_column_name="user_id", references=User, index=True, on_delete=OnDelete.cascade)
    purpose = Varchar(length=10)  # register | login
    state = Text()
    mfa_token_hash = Varchar(length=64, null=True, default=None)
    expires_at = Timestamptz()
    created_at = created_at()


class IdentityProvider(Table, tablename="identity_providers", db=APP_DB):
    """An OpenID provider people may sign in with (the app admin's; platform data)."""

    id = pk()
    slug = Varchar(length=40, unique=True)  # the {provider} of /auth/oidc/{provider}/...
    display_name = Varchar(length=100)
    kind = Varchar(length=20, default="oidc")  # google | microsoft | oidc (the button's look)
    issuer = Varchar(length=500)
    client_id = Varchar(length=500)
    client_secret = Text()  # Fernet token
    enabled = Boolean(default=True)
    created_at = created_at()
    updated_at = updated_at()


class OidcLogin(Table, tablename="oidc_logins", db=APP_DB):
    """A started OIDC sign-in: its state (hashed), nonce and PKCE verifier; used once."""

    state_hash = Varchar(length=64, primary_key=True)
    provider = ForeignKey(
        db_column_name="provider_id", references=IdentityProvider, on_delete=OnDelete.cascade
    )
    nonce = Varchar(length=100)
    code_verifier = Text()  # Fernet token
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = created_at()


class UserIdentity(Table, tablename="user_identities", db=APP_DB):
    """A user's account at an OpenID provider (issuer subject), linked to sign in with it."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    user = ForeignKey(db_column_name="user_id", references=User, index=True, on_delete=OnDelete.cascade)
    provider = ForeignKey(
        db_column_name="provider_id", references=IdentityProvider, on_delete=OnDelete.cascade
    )
    subject = Varchar(length=255)
    email = Varchar(length=320)
    created_at = created_at()


class SupportGrant(Table, tablename="support_grants", db=APP_DB):
    """A tenant lets its partner read its agents and sessions until `expires_at` (revocable)."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    partner = ForeignKey(db_column_name="partner_id", references=Partner, on_delete=OnDelete.cascade)
    granted_by = UUID(null=True, default=None)
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    revoked_by = UUID(null=True, default=None)
    created_at = created_at()
