"""The durable scheduler's queue (runtime/scheduler.py) and the development mailbox."""

from piccolo.columns import JSONB, UUID, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from runtime.db import APP_DB
from runtime.tables.base import created_at, pk, updated_at


class ScheduledJob(Table, tablename="scheduled_jobs", db=APP_DB):
    """One job: run `kind` with `payload` at `run_at` or later, retried with backoff."""

    id = pk()
    kind = Varchar(length=100)
    payload = JSONB(default={})
    tenant_id = UUID(null=True, default=None)
    dedupe_key = Varchar(length=200, null=True, default=None, unique=True)
    run_at = Timestamptz()
    status = Varchar(length=12, default="pending")  # pending | running | done | failed
    attempts = Integer(default=0)
    max_attempts = Integer(default=10)
    leased_until = Timestamptz(null=True, default=None)
    last_error = Text(null=True, default=None)
    created_at = created_at()
    updated_at = updated_at()


class DevMail(Table, tablename="dev_mailbox", db=APP_DB):
    """A mail the development catcher received (tools/mailcatcher.py); the newest 200 are kept."""

    id = pk()
    mail_from = Text()
    rcpt_to = Text()
    subject = Text()
    body = Text()
    received_at = created_at()
