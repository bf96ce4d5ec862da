"""Identity: email verification, password reset, invitations, domain claims, TOTP MFA.

- `users.session_epoch`: bumped when a password is reset or changed. Access tokens carry the
  epoch they were issued under (`sv`), and the per-request check refuses an older one, so
  every session of the user ends at once; the trigger of the `access_revoked` migration is
  reused for it, closing the user's open sockets too (web/security/revocation.py).
- `users.mfa_*`, `tenants.require_mfa`, `mfa_recovery_codes`: TOTP second factor.
- `account_tokens`: single-use links mailed to a person (verify an email, change it, reset a
  password, join a claimed domain, accept an invitation), stored as SHA-256 only.
- `domain_claims`: a tenant's claim on an email domain, verified once (docs/identity.md).
- `identity_providers` (platform: the app admin's OIDC issuers, secrets encrypted),
  `oidc_logins` (a started sign-in: state, nonce, PKCE verifier; single-use, 10 minutes),
  `user_identities` (which IdP subject is which user).
- `support_grants`: a tenant admin's time-limited, revocable grant of read access to its
  agents and sessions for its partner (docs/identity.md "Partner support access").
"""

from piccolo_migrations.hirebuddha_2026_11_21t22_18_30_000000_security import tenant_table
from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-01T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Email verification, password reset, invitations, domain claims, MFA"


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [
        "ALTER TABLE users ADD COLUMN session_epoch integer NOT NULL DEFAULT 0",
        "ALTER TABLE users ADD COLUMN mfa_secret text NULL",
        "ALTER TABLE users ADD COLUMN mfa_enabled boolean NOT NULL DEFAULT false",
        "ALTER TABLE users ADD COLUMN mfa_last_step bigint NOT NULL DEFAULT 0",
        "ALTER TABLE tenants ADD COLUMN require_mfa boolean NOT NULL DEFAULT false",
        """CREATE TABLE account_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id uuid NULL REFERENCES users(id) ON DELETE CASCADE,
  purpose varchar(20) NOT NULL CHECK (purpose IN
    ('verify_email', 'change_email', 'reset_password', 'join_domain', 'invitation', 'link_identity')),
  token_hash varchar(64) NOT NULL UNIQUE,
  email varchar(320) NOT NULL,
  role varchar(20) NULL,
  payload jsonb NOT NULL DEFAULT '{}',
  created_by uuid NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz NULL,
  revoked_at timestamptz NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)""",
        "CREATE INDEX account_tokens_tenant ON account_tokens (tenant_id, purpose, created_at)",
        """CREATE TABLE domain_claims (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  domain varchar(253) NOT NULL,
  token varchar(64) NOT NULL,
  verified_at timestamptz NULL,
  created_by uuid NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, domain)
)""",
        # One tenant owns a verified domain; pending claims of several tenants may coexist.
        "CREATE UNIQUE INDEX domain_claims_verified ON domain_claims (domain) WHERE verified_at IS NOT NULL",
        """CREATE TABLE mfa_recovery_codes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash varchar(64) NOT NULL,
  used_at timestamptz NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)""",
        "CREATE INDEX mfa_recovery_codes_user ON mfa_recovery_codes (user_id)",
        """CREATE TABLE identity_providers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug varchar(40) NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]*$'),
  display_name varchar(100) NOT NULL,
  kind varchar(20) NOT NULL DEFAULT 'oidc' CHECK (kind IN ('google', 'microsoft', 'oidc')),
  issuer varchar(500) NOT NULL,
  client_id varchar(500) NOT NULL,
  client_secret text NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)""",
        """CREATE TABLE oidc_logins (
  state_hash varchar(64) PRIMARY KEY,
  provider_id uuid NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
  nonce varchar(100) NOT NULL,
  code_verifier text NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)""",
        """CREATE TABLE user_identities (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  provider_id uuid NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
  subject varchar(255) NOT NULL,
  email varchar(320) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (provider_id, subject)
)""",
        "CREATE INDEX user_identities_user ON user_identities (user_id)",
        """CREATE TABLE support_grants (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  partner_id uuid NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
  granted_by uuid NULL,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz NULL,
  revoked_by uuid NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)""",
        "CREATE INDEX support_grants_tenant ON support_grants (tenant_id, expires_at)",
        *tenant_table("support_grants"),
        # A partner admin lists the grants its tenants gave it (its read view, app.partner_id).
        "CREATE POLICY partner_read ON support_grants FOR SELECT USING "
        "(partner_id = NULLIF(current_setting('app.partner_id', true), '')::uuid)",
        *tenant_table("user_identities"),
        *tenant_table("account_tokens"),
        *tenant_table("domain_claims"),
        *tenant_table("mfa_recovery_codes"),
        "CREATE TRIGGER users_sessions_revoked AFTER UPDATE OF session_epoch ON users FOR EACH ROW "
        "WHEN (NEW.session_epoch <> OLD.session_epoch) EXECUTE FUNCTION notify_access_revoked()",
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
