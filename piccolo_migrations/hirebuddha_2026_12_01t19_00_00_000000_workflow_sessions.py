"""Chat sessions opened on a workflow instead of an agent (docs/workflows.md "Chat").

`sessions.workflow_id` names the workflow a session runs; `agent_id` becomes nullable and a
check keeps exactly one of the two set.
"""

from piccolo_migrations.hirebuddha_2026_11_30t22_31_00_000000_dead_letters_rls import raw_migration

ID = "2026-12-01T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Chat sessions on a workflow"


def statements() -> list[str]:
    """Every statement of this migration, in order."""
    return [
        "ALTER TABLE sessions ADD COLUMN workflow_id uuid NULL REFERENCES workflows (id) ON DELETE CASCADE",
        "ALTER TABLE sessions ALTER COLUMN agent_id DROP NOT NULL",
        "ALTER TABLE sessions ADD CONSTRAINT sessions_one_target "
        "CHECK (num_nonnulls(agent_id, workflow_id) = 1)",
        "CREATE INDEX sessions_workflow_id ON sessions (workflow_id) WHERE workflow_id IS NOT NULL",
    ]


forwards = raw_migration(ID, DESCRIPTION, statements)
