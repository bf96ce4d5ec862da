"""`hirebuddha migrate`: create the database if missing, apply migrations, set up the app role.

Migrations run as the owner (HB_DATABASE_URL). The app role is (re)granted on every run so a
table added by a later migration is reachable by the app without a hand step; it never gets
UPDATE or DELETE on ledger_entries, and never owns, bypasses RLS or is superuser.
"""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from runtime.settings import get_settings

os.environ.setdefault("PICCOLO_CONF", "runtime.piccolo_conf")
log = logging.getLogger("hirebuddha.migrate")


async def create_database_if_missing(url: str) -> bool:
    """Create the database named in `url` when it does not exist; True when created."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    conn = await asyncpg.connect(admin_url)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        await conn.execute(f'CREATE DATABASE "{name}"')
        log.info("created database %s", name)
        return True
    finally:
        await conn.close()


async def ensure_app_role(url: str, role: str) -> None:
    """Create the app role if missing; it never owns, bypasses RLS or is superuser."""
    conn = await asyncpg.connect(url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        if not exists:
            await conn.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE')
        # A role left from an older install must still not bypass the policies.
        await conn.execute(f'ALTER ROLE "{role}" NOSUPERUSER NOBYPASSRLS')
    finally:
        await conn.close()


async def grant_app_role(url: str, role: str) -> None:
    """Grant the app role exactly what the app needs, table by table."""
    from runtime.tables import ALL_TABLES, APPEND_ONLY

    tables = [t._meta.tablename for t in ALL_TABLES] + ["rate_limit_buckets", "rate_counters"]
    conn = await asyncpg.connect(url)
    try:
        db = urlsplit(url).path.lstrip("/")
        await conn.execute(f'GRANT CONNECT ON DATABASE "{db}" TO "{role}"')
        await conn.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
        for table in tables:
            if table in APPEND_ONLY:
                await conn.execute(f'GRANT SELECT, INSERT ON {table} TO "{role}"')
                await conn.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM "{role}"')
            else:
                await conn.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO "{role}"')
    finally:
        await conn.close()


async def migrate() -> None:
    """Everything `hirebuddha migrate` does, idempotently."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    settings = get_settings()
    await create_database_if_missing(settings.db.url)
    await ensure_app_role(settings.db.url, settings.db.app_role)
    result = await run_forwards(app_name="hirebuddha", migration_id="all")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")
    await grant_app_role(settings.db.url, settings.db.app_role)
