"""GDPR: a tenant's data exported as one JSON archive, and a tenant erased (docs/gdpr.md).

Both walk `runtime.tables.TENANT_TABLES`, so a table added later is exported and erased
without a change here (tests/test_gdpr.py checks every table of the list is in the archive).

Export (`GET /tenant/export`, tenant admin): streamed as it is read, a page of rows at a
time (keyset pages by id) in one transaction, so the archive may be larger than the web
process's memory and the request never builds it whole. Rows written while it streams may
or may not be in it (read committed). Secrets are
left out: password hashes, API key hashes, refresh tokens, the webhook signing secret.

Erasure (`DELETE /admin/tenants/{id}`, app admin): in one transaction, every row of the
tenant's tables is deleted except the records the law makes us keep:

- `ledger_entries`, `credit_purchases` and the invoices (`invoices`, `invoice_lines`,
  `invoice_entries`) stay unchanged. They hold no personal data: ids
  (tenant, partner, execution, agent), models, quantities and amounts. Once the users, the
  conversations and the workspace's name are gone, those ids point at nothing that names a
  person: the entries are anonymised by erasing what they refer to, not by editing them, so
  their hash chain is untouched and `hirebuddha ledger verify` passes as before.
- `audit_log` stays (append-only like the ledger: a trigger refuses DELETE); it names
  actors by id only.
- the `tenants` row stays as a tombstone (status `deleted`, name `Deleted workspace`,
  no webhook secret) because the kept entries reference it. Setting the status fires the
  access-revoked notification, so the tenant's open sockets close at once.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from runtime import db
from runtime.tables import APPEND_ONLY, TENANT_TABLES
from web import audit
from web.auth.identity import Principal

FORMAT = "hirebuddha-export/1"
PAGE = 500

KEPT = (*APPEND_ONLY, "invoices", "invoice_entries", "invoice_lines")
"""Tables whose rows survive an erasure (see the module doc): the append-only records (ledger,
audit, credit purchases) and the invoices with their lines and entries, which the law keeps."""

SECRET_COLUMNS: dict[str, list[str]] = {
    "tenants": ["webhook_secret"],
    "users": ["hashed_password", "mfa_secret"],
    "api_keys": ["key_hash"],
    "channels": ["credentials"],  # bot tokens and app secrets, encrypted but still secrets
}
NOT_EXPORTED = (
    "refresh_tokens",
    "rate_counters",
    "account_tokens",
    "mfa_recovery_codes",
    "webauthn_challenges",
)
"""Login tokens, mailed-link tokens and recovery codes (secrets, hashed or not), hourly
counters and five-minute passkey ceremonies (not the tenant's data, only our bookkeeping)."""

TOMBSTONE_NAME = "Deleted workspace"


def exported_tables() -> list[str]:
    """The tables an archive has, in a stable order."""
    return [t for t in TENANT_TABLES if t not in NOT_EXPORTED]


async def _with_ids(tables: list[str]) -> set[str]:
    """Those of `tables` with an `id` column: paged by it. The others (one row per tenant, such
    as a tenant's settings keyed by tenant_id) are read whole."""
    rows = await db.fetch(
        "SELECT table_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND column_name = 'id' AND table_name = ANY($1)",
        tables,
    )
    return {r["table_name"] for r in rows}


async def _whole(table: str, tenant_id: uuid.UUID) -> Sequence[Any]:
    return await db.fetch(
        f"SELECT to_jsonb(t) - $2::text[] AS row FROM {table} t WHERE t.tenant_id = $1",  # noqa: S608 (table names from TENANT_TABLES)
        tenant_id,
        SECRET_COLUMNS.get(table, []),
    )


async def _page(table: str, tenant_id: uuid.UUID, after: uuid.UUID | None) -> Sequence[Any]:
    return await db.fetch(
        f"SELECT t.id, to_jsonb(t) - $3::text[] AS row FROM {table} t "  # noqa: S608 (table names from TENANT_TABLES)
        "WHERE t.tenant_id = $1 AND ($2::uuid IS NULL OR t.id > $2::uuid) ORDER BY t.id LIMIT "
        f"{PAGE}",
        tenant_id,
        after,
        SECRET_COLUMNS.get(table, []),
    )


async def export_archive(tenant_id: uuid.UUID) -> AsyncIterator[bytes]:
    """The tenant's archive as JSON, in chunks: `{format, tenant_id, exported_at, tenant,
    tables: {name: [rows...]}}`, each row as PostgreSQL's `to_jsonb` gives it."""
    async with db.scope(tenant_id):
        tenant = await db.fetchrow(
            "SELECT to_jsonb(t) - $2::text[] AS row FROM tenants t WHERE t.id = $1",
            tenant_id,
            SECRET_COLUMNS["tenants"],
        )
        head = {
            "format": FORMAT,
            "tenant_id": str(tenant_id),
            "exported_at": dt.datetime.now(dt.UTC).isoformat(),
            "tenant": json.loads(tenant["row"]) if tenant else None,
        }
        yield json.dumps(head)[:-1].encode() + b', "tables": {'
        tables = exported_tables()
        paged = await _with_ids(tables)
        for index, table in enumerate(tables):
            yield (b", " if index else b"") + json.dumps(table).encode() + b": ["
            after, first = None, True
            if table not in paged:
                yield b",".join(r["row"].encode() for r in await _whole(table, tenant_id))
            while table in paged:
                rows = await _page(table, tenant_id, after)
                if not rows:
                    break
                chunk = b",".join(r["row"].encode() for r in rows)
                yield (b"" if first else b",") + chunk
                first, after = False, rows[-1]["id"]
                if len(rows) < PAGE:
                    break
            yield b"]"
        yield b"}}"


_EDGES = """
SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
FROM pg_constraint c
WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY($1) AND c.confrelid::regclass::text = ANY($1)
  AND c.conrelid <> c.confrelid
"""


async def _deletion_order(tables: list[str]) -> list[str]:
    """`tables` ordered so that a table is emptied before any table it references."""
    edges = await db.fetch(_EDGES, tables)
    parents: dict[str, set[str]] = {t: set() for t in tables}  # table -> tables referencing it
    for edge in edges:
        parents[edge["parent"]].add(edge["child"])
    ordered: list[str] = []
    while parents:
        free = sorted(t for t, children in parents.items() if not children - set(ordered))
        if not free:  # a cycle: fall back to the remaining order (cascades resolve it)
            free = sorted(parents)
        for table in free:
            ordered.append(table)
            del parents[table]
    return ordered


async def erase(tenant_id: uuid.UUID) -> dict[str, int]:
    """Delete the tenant's data except `KEPT`, leave the tombstone (module doc). Run in the
    system scope; returns the rows deleted per table."""
    await db.execute(
        "UPDATE tenants SET status = 'deleted', name = $2, webhook_secret = NULL, updated_at = now() "
        "WHERE id = $1",
        tenant_id,
        TOMBSTONE_NAME,
    )
    deleted: dict[str, int] = {}
    for table in await _deletion_order([t for t in TENANT_TABLES if t not in KEPT]):
        done = await db.execute(f"DELETE FROM {table} WHERE tenant_id = $1", tenant_id)  # noqa: S608
        deleted[table] = int(done.split()[-1])
    return deleted


async def record_export(me: Principal, ip: str | None) -> None:
    """The audit row of an export (who took the workspace's data, from where)."""
    async with db.scope(me.tenant_id):
        await audit.record(
            "tenant.export", tenant_id=me.tenant_id, actor_id=me.id, target_type="tenant", ip=ip
        )
