"""Database engines and the per-transaction tenant scope.

Two engines: the *owner* (migrations, roles, policies; `piccolo_conf.DB`) and the *app*
engine every table is bound to, which logs in as a role that is neither owner nor superuser
and has no BYPASSRLS, so PostgreSQL row-level security applies to every query it runs.

Every query that touches tenant rows runs inside `scope(...)`: a transaction whose first
statement sets `app.tenant_id` / `app.partner_id` / `app.system` with `set_config(..., true)`.
The `true` makes the setting transaction-local, so a pooled connection never carries one
request's tenant into the next one (docs/architecture.md "Pitfalls").
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction

from runtime.settings import get_settings


class Transaction(PostgresTransaction):
    """Piccolo's transaction, but one that can set its scope in its BEGIN's round trip, and
    whose end always forgets it.

    `opening` (set before entering) is SQL sent with `BEGIN` as one simple query, so a
    `scope()` costs BEGIN, its statements and COMMIT: the separate `set_config` round trip
    was a quarter of an execution's claim (issue 11). It then begins and ends by plain
    BEGIN/COMMIT/ROLLBACK statements instead of asyncpg's transaction object.

    Piccolo's `__aexit__` rolls back (or commits), releases the connection, then resets
    `current_transaction`. When PostgreSQL dies, the rollback raises first: the connection
    was never released and the task kept the dead transaction as its current one, so every
    later `scope()` in that task "nested" into it and failed with "connection has been
    released back to the pool" forever. The ledger consumer (one long task) never recovered
    from a database restart (tests/test_faults_db.py).
    """

    opening: str | None = None

    async def begin(self) -> None:
        if self.opening is None:
            await super().begin()
            return
        try:
            await self.connection.execute(f"BEGIN; {self.opening}")
        except BaseException as exc:
            broken = isinstance(exc, asyncpg.InternalClientError)
            if broken:
                # The pool handed out a connection whose server session was ended (the
                # server's unasked FATAL left asyncpg's protocol consuming an error): never
                # reuse it, and say so as the lost connection it is (answered 503, not 500).
                self.connection.terminate()
            # Piccolo's __aenter__ keeps the connection when begin fails: give it back.
            if self.engine.pool is not None:
                with contextlib.suppress(Exception):
                    await self.engine.pool.release(self.connection)
            if broken:
                lost = "the pooled connection's server session ended"
                raise asyncpg.ConnectionDoesNotExistError(lost) from exc
            raise

    async def commit(self) -> None:
        if self.opening is None:
            await super().commit()
        else:
            await self.connection.execute("COMMIT")
        self._committed = True

    async def rollback(self) -> None:
        if self.opening is None:
            await super().rollback()
        else:
            await self.connection.execute("ROLLBACK")
        self._rolled_back = True

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        try:
            return await super().__aexit__(exception_type, exception, traceback)
        except BaseException:
            if self._parent is None and self.engine.current_transaction.get() is self:
                self.engine.current_transaction.reset(self.context)
                if self.engine.pool is not None:
                    with contextlib.suppress(Exception):  # a closed connection is replaced
                        await self.engine.pool.release(self.connection)
            raise


class Engine(PostgresEngine):
    """PostgresEngine without the version probe Piccolo runs at construction.

    That probe opens a connection at import time (and warns when the database does not exist
    yet, which is normal before `hirebuddha migrate`); the server version is fixed by
    the machines (docs/architecture.md "Processes"), so the probe buys nothing.
    """

    async def check_version(self) -> None:
        return None

    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        """A `Transaction` (see there) instead of Piccolo's."""
        return Transaction(engine=self, allow_nested=allow_nested)


APP_DB = Engine(config={"dsn": get_settings().db.app_url}, extensions=())
"""Engine of the application role; every Table is bound to it."""

OWNER_DB = Engine(config={"dsn": get_settings().db.url}, extensions=())
"""Engine of the owner role; migrations only."""


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Release without asyncpg's default reset query (advisory unlock, CLOSE ALL, UNLISTEN,
    RESET ALL): one more round trip after every transaction, for session state this app never
    creates. Tenant scope is `set_config(..., true)` and locks are `pg_advisory_xact_lock`,
    both gone at commit; asyncpg still rolls back a transaction left open before calling this.
    """


CUSTOM_PLANS = {"plan_cache_mode": "force_custom_plan"}
"""Session settings of `open_pool(custom_plans=True)`."""


async def open_pool(max_size: int | None = None, *, custom_plans: bool = False) -> None:
    """Start the app engine's pool (idempotent).

    `custom_plans`: PostgreSQL plans every execution of a prepared statement for its
    arguments and the tables' current size, instead of switching to the generic plan it
    keeps after five executions. For a process whose table grows under its statements: the
    ledger's duplicate check kept a plan made while ledger_entries held a few thousand rows,
    a sequential scan, and read the whole table for every batch once it held 100,000
    (75-240 ms a batch, 2,300-3,500 entries/s; docs/architecture.md "Pitfalls"). Planning
    costs well under a millisecond a statement; the ledger runs a few per batch.
    """
    if APP_DB.pool is None:
        size = max_size or get_settings().db.pool_max
        settings = CUSTOM_PLANS if custom_plans else None
        await APP_DB.start_connection_pool(
            min_size=1, max_size=size, reset=_keep_session, server_settings=settings
        )


async def close_pool() -> None:
    """Close the app engine's pool if it is open."""
    if APP_DB.pool is not None:
        await APP_DB.close_connection_pool()


def _as_text(value: uuid.UUID | str | None) -> str:
    return "" if value is None else str(value)


@asynccontextmanager
async def scope(
    tenant_id: uuid.UUID | str | None = None,
    *,
    partner_id: uuid.UUID | str | None = None,
    system: bool = False,
    then: str | None = None,
) -> AsyncIterator[None]:
    """One transaction scoped to a tenant, a partner's read view, or the whole system.

    `system=True` is for work that is cross-tenant by nature (login by email, refresh token
    lookup, the admin console, seeding) and is only entered by code that has checked why.
    `then`: SQL without parameters (values inlined by the caller, who vouches for them) run
    first in the transaction, in BEGIN's round trip when the transaction is new; each of its
    statements takes its own snapshot, as if sent alone (e.g. the ledger's tenant locks).
    """
    key = _key(tenant_id, partner_id, system)
    txn = APP_DB.transaction()
    opened = False
    if isinstance(txn, Transaction) and txn._parent is None:
        txn.opening = _scope_sql(key)
        opened = txn.opening is not None
        if opened and then is not None:
            txn.opening, then = f"{txn.opening}; {then}", None
    async with txn as current:
        if opened:
            _scoped.set((current, key))
        # Nested in a transaction already in this very scope: no second set_config round trip
        # (helpers that open their own scope can then share one transaction, actors.store.begin).
        elif _scoped.get() != (current, key):
            await rescope(tenant_id, partner_id=partner_id, system=system)
        if then is not None:
            await execute(then)
        yield


def _scope_sql(key: tuple[str, str, bool]) -> str | None:
    """`rescope`'s statement with its values inlined (None when one is not a UUID: then it
    goes as parameters). Only UUIDs, in their canonical form, are inlined: nothing to quote."""
    tenant, partner, system = key
    try:
        tenant = str(uuid.UUID(tenant)) if tenant else ""
        partner = str(uuid.UUID(partner)) if partner else ""
    except ValueError:
        return None
    return (
        f"SELECT set_config('app.tenant_id', '{tenant}', true), "
        f"set_config('app.partner_id', '{partner}', true), "
        f"set_config('app.system', '{'on' if system else ''}', true)"
    )


async def rescope(
    tenant_id: uuid.UUID | str | None = None,
    *,
    partner_id: uuid.UUID | str | None = None,
    system: bool = False,
) -> None:
    """Change the scope of the current transaction (e.g. a partner creating a tenant's admin)."""
    await execute(
        "SELECT set_config('app.tenant_id', $1, true), "
        "set_config('app.partner_id', $2, true), set_config('app.system', $3, true)",
        _as_text(tenant_id),
        _as_text(partner_id),
        "on" if system else "",
    )
    _scoped.set((APP_DB.current_transaction.get(), _key(tenant_id, partner_id, system)))


_scoped: ContextVar[tuple[Any, tuple[str, str, bool]] | None] = ContextVar("hb_db_scoped", default=None)
"""(transaction, scope) that `rescope` last set in this context."""


def _key(tenant_id: Any, partner_id: Any, system: bool) -> tuple[str, str, bool]:
    return _as_text(tenant_id), _as_text(partner_id), system


def _connection() -> asyncpg.Connection:
    txn = APP_DB.current_transaction.get()
    if txn is None:
        raise RuntimeError("raw SQL must run inside db.scope(...)")
    return txn.connection


async def fetch(sql: str, *args: Any) -> Sequence[asyncpg.Record]:
    """Raw SQL on the current scoped transaction (for what Piccolo cannot express, and hot
    reads where building its query costs more than running it)."""
    return await _connection().fetch(sql, *args)


async def fetchrow(sql: str, *args: Any) -> asyncpg.Record | None:
    """Raw SQL returning one row or None, on the current scoped transaction."""
    return await _connection().fetchrow(sql, *args)


async def execute(sql: str, *args: Any) -> str:
    """Raw SQL without rows, on the current scoped transaction."""
    return await _connection().execute(sql, *args)


async def fetch_alone(sql: str, *args: Any) -> Sequence[asyncpg.Record]:
    """One statement as its own transaction, on a pooled connection of its own (autocommit).

    Only for SQL functions that set their own tenant scope (`set_config(..., true)` lasts
    the statement's transaction): one round trip instead of BEGIN, the scope, the statement
    and COMMIT. Never inside a `scope()`: it would not see that transaction's writes.
    """
    pool = APP_DB.pool
    if pool is None:
        raise RuntimeError("the app pool is not open")
    async with pool.acquire() as connection:
        return await connection.fetch(sql, *args)
