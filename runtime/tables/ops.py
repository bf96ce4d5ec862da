"""Operational records: dead letters and webhook deliveries."""

from piccolo.columns import JSONB, UUID, Bytea, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from runtime.db import APP_DB
from runtime.tables.base import created_at, pk
from runtime.tables.identity import Tenant


class DeadLetter(Table, tablename="dead_letters", db=APP_DB):
    """A message no consumer could process, kept with its reason until an admin re-drives it.

    Holds a tenant's payloads, so it is under RLS like every tenant table; the sink, the app
    admin's listing and the re-drive work in the system scope (`runtime.deadletters`).
    """

    id = pk()
    source_exchange = Varchar(length=255, default="")
    routing_key = Varchar(length=255, default="")
    reason = Text()
    headers = JSONB(default={})
    body = Bytea(default=b"")
    content_type = Varchar(length=100, null=True, default=None)
    correlation_id = Varchar(length=255, null=True, default=None)
    tenant_id = UUID(null=True, default=None, index=True)
    retry_count = Integer(default=0)
    retried_at = Timestamptz(null=True, default=None)
    created_at = created_at()


class WebhookDelivery(Table, tablename="webhook_deliveries", db=APP_DB):
    """One attempt to POST an execution's result to its webhook URL."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    execution_id = UUID(index=True)
    url = Text()
    attempt = Integer()
    status_code = Integer(null=True, default=None)
    error = Text(null=True, default=None)
    created_at = created_at()
