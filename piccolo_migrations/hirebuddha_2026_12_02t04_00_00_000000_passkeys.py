"""WebAuthn passkeys as a second factor beside TOTP (docs/identity.md "Passkeys").

- `webauthn_credentials`: a user's registered passkeys: the credential id (unique), its
  public key (COSE, as fido2's AttestedCredentialData bytes), the last sign count seen (a
  lower one means a cloned authenticator), the name the user gave it, created/last used.
- `webauthn_challenges`: the server-side state of a registration or login ceremony, single
  use (deleted when completed) and short-lived (`expires_at`); a login one is bound to the
  pending MFA challenge by the SHA-256 of its token.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from piccolo_migrations.hirebuddha_2026_11_21t22_18_30_000000_security import tenant_table

ID = "2026-12-02T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "WebAuthn passkeys and their ceremony state"

TABLES = [
    """CREATE TABLE webauthn_credentials (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  credential_id bytea NOT NULL UNIQUE,
  credential_data bytea NOT NULL,
  sign_count bigint NOT NULL DEFAULT 0,
  name varchar(100) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NULL
)""",
    "CREATE INDEX webauthn_credentials_tenant ON webauthn_credentials (tenant_id)",
    "CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id)",
    """CREATE TABLE webauthn_challenges (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose varchar(10) NOT NULL CHECK (purpose IN ('register', 'login')),
  state text NOT NULL,
  mfa_token_hash varchar(64) NULL,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)""",
    "CREATE INDEX webauthn_challenges_tenant ON webauthn_challenges (tenant_id)",
    "CREATE INDEX webauthn_challenges_user ON webauthn_challenges (user_id)",
]
TENANT_TABLES = ["webauthn_credentials", "webauthn_challenges"]


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    out = list(TABLES)
    for table in TENANT_TABLES:
        out += tenant_table(table)
    return out


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="hirebuddha", description=DESCRIPTION)

    async def run() -> None:
        from runtime.db import OWNER_DB

        for sql in statements():
            await OWNER_DB.run_ddl(sql, in_pool=False)

    manager.add_raw(run)
    return manager
