"""Human in the loop (docs/human-in-the-loop.md): who holds a session, escalation rules.

- `sessions.hand`: `agent` (the agent answers), `escalated` (the agent still answers, a
  person is asked for) or `human` (a person holds it: `held_by` since `held_since`, and no
  actor answers). Stored on the session so a restart of web and actors keeps it held.
- `messages.author_id`: the person who wrote a `human` message (role `human`, no execution).
- `escalation_rules`: one row per tenant (keywords, failed answers in a row, sentiment).
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-01T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Session hand state, human messages, escalation rules"


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    from piccolo_migrations.hirebuddha_2026_11_21t22_18_30_000000_security import tenant_table

    return [
        "ALTER TABLE sessions ADD COLUMN hand varchar(12) NOT NULL DEFAULT 'agent' "
        "CONSTRAINT sessions_hand CHECK (hand IN ('agent', 'escalated', 'human'))",
        "ALTER TABLE sessions ADD COLUMN held_by uuid NULL REFERENCES users(id) ON DELETE SET NULL",
        "ALTER TABLE sessions ADD COLUMN held_since timestamptz NULL",
        "ALTER TABLE sessions ADD COLUMN escalated_at timestamptz NULL",
        "ALTER TABLE sessions ADD COLUMN escalation_reason text NULL",
        "ALTER TABLE sessions ADD CONSTRAINT sessions_held CHECK ((hand = 'human') = (held_by IS NOT NULL))",
        # Serves the inbox: a tenant's sessions that need or have a person.
        "CREATE INDEX sessions_inbox ON sessions (tenant_id, updated_at DESC) WHERE hand <> 'agent'",
        "ALTER TABLE messages ADD COLUMN author_id uuid NULL REFERENCES users(id) ON DELETE SET NULL",
        """CREATE TABLE escalation_rules (
             tenant_id uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
             keywords text[] NOT NULL DEFAULT '{}',
             failed_answers integer NULL CHECK (failed_answers > 0),
             sentiment_below real NULL CHECK (sentiment_below BETWEEN -1 AND 1),
             agent_tool boolean NOT NULL DEFAULT false,
             updated_at timestamptz NOT NULL DEFAULT now())""",
        *tenant_table("escalation_rules"),
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
