"""A durable scheduler in PostgreSQL (docs/billing.md "The scheduler").

    from runtime import scheduler

    @scheduler.handler("billing.charge_invoice")
    async def charge(job: scheduler.Job) -> None: ...

    await scheduler.enqueue("billing.charge_invoice", {"invoice_id": str(i)}, run_at=when, tenant_id=t)

- `enqueue` writes a `scheduled_jobs` row in the caller's transaction (it must run inside a
  `db.scope`), so a job is scheduled if and only if the change that needed it commits. A
  `key` makes it idempotent: a second job with the same key is not added.
- `Runner.run_due()` claims due jobs (`run_at <= clock.now()`) with `FOR UPDATE SKIP LOCKED`,
  marks them `running` with a lease (wall-clock `leased_until`) and commits; then runs each
  handler outside that transaction and records `done`, or on an exception reschedules it
  with exponential backoff (`failed` after `max_attempts`). A process that dies mid-job
  leaves a lease that expires; the job is claimed again. Handlers must be idempotent.
- Any number of processes may run a `Runner` side by side; the ledger process runs one
  (ledger/cli.py), so a hot-standby ledger shares the work.

Due times use `runtime.clock` (tests move it); leases use the wall clock, since a lease is
about a process being alive, not about billing time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from runtime import clock, db

log = logging.getLogger("hirebuddha.scheduler")

LEASE_S = 300.0
"""How long a claimed job is someone's; a handler that runs longer may be run twice."""
BACKOFF_BASE_S = 30.0
BACKOFF_MAX_S = 3600.0


class Job(msgspec.Struct, frozen=True):
    """A claimed job as its handler sees it."""

    id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    tenant_id: uuid.UUID | None
    attempts: int
    """Tries so far, this one included (1 on the first run)."""


Handler = Callable[[Job], Awaitable[None]]
_HANDLERS: dict[str, Handler] = {}


def register(kind: str, fn: Handler) -> None:
    """Run `fn` for jobs of `kind` (one handler per kind)."""
    if _HANDLERS.get(kind, fn) is not fn:
        raise ValueError(f"a handler for {kind!r} is registered already")
    _HANDLERS[kind] = fn


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Decorator form of `register`."""

    def wrap(fn: Handler) -> Handler:
        register(kind, fn)
        return fn

    return wrap


def backoff(attempts: int) -> dt.timedelta:
    """Delay before the next try after `attempts` failed ones: 30 s, 60 s, 120 s ... <= 1 h."""
    return dt.timedelta(seconds=min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1)))


async def enqueue(
    kind: str,
    payload: dict[str, Any] | None = None,
    run_at: dt.datetime | None = None,
    tenant_id: uuid.UUID | None = None,
    *,
    key: str | None = None,
    max_attempts: int = 10,
) -> uuid.UUID | None:
    """Schedule a job in the current transaction; returns its id, or None when `key` exists."""
    job_id = uuid.uuid4()
    row = await db.fetchrow(
        "INSERT INTO scheduled_jobs (id, kind, payload, tenant_id, dedupe_key, run_at, max_attempts) "
        "VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        job_id,
        kind,
        json.dumps(payload or {}),
        tenant_id,
        key,
        run_at or await clock.now(),
        max_attempts,
    )
    return row["id"] if row else None


def _json(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else json.loads(value)


class Runner:
    """Claims and runs due jobs of the registered kinds."""

    def __init__(self, batch: int = 10) -> None:
        self.batch = batch

    async def _claim(self) -> list[Job]:
        kinds = sorted(_HANDLERS)
        if not kinds:
            return []
        now = await clock.now()
        async with db.scope(system=True):
            rows = await db.fetch(
                "UPDATE scheduled_jobs SET status = 'running', attempts = attempts + 1, "
                "  leased_until = now() + make_interval(secs => $3), updated_at = now() "
                "WHERE id IN (SELECT id FROM scheduled_jobs WHERE kind = ANY($1) AND run_at <= $2 "
                "  AND (status = 'pending' OR (status = 'running' AND leased_until < now())) "
                "  ORDER BY run_at LIMIT $4 FOR UPDATE SKIP LOCKED) "
                "RETURNING id, kind, payload, tenant_id, attempts, max_attempts",
                kinds,
                now,
                LEASE_S,
                self.batch,
            )
        return [Job(r["id"], r["kind"], _json(r["payload"]), r["tenant_id"], r["attempts"]) for r in rows]

    async def _finish(self, job: Job, error: str | None) -> None:
        async with db.scope(system=True):
            if error is None:
                await db.execute(
                    "UPDATE scheduled_jobs SET status = 'done', leased_until = NULL, updated_at = now() "
                    "WHERE id = $1",
                    job.id,
                )
                return
            row = await db.fetchrow("SELECT max_attempts FROM scheduled_jobs WHERE id = $1", job.id)
            final = row is not None and job.attempts >= row["max_attempts"]
            await db.execute(
                "UPDATE scheduled_jobs SET status = $2, run_at = $3, leased_until = NULL, "
                "last_error = $4, updated_at = now() WHERE id = $1",
                job.id,
                "failed" if final else "pending",
                await clock.now() + backoff(job.attempts),
                error[:2000],
            )

    async def run_due(self) -> int:
        """Claim and run one batch of due jobs; returns how many ran."""
        jobs = await self._claim()
        for job in jobs:
            try:
                await _HANDLERS[job.kind](job)
            except Exception as exc:  # the job is retried later; the error is kept on its row
                log.warning("scheduler job %s (%s) failed: %s", job.id, job.kind, exc, exc_info=True)
                await self._finish(job, f"{type(exc).__name__}: {exc}")
            else:
                await self._finish(job, None)
        return len(jobs)

    async def run_until(self, stop: asyncio.Event, poll_s: float = 1.0) -> None:
        """Run due jobs until `stop`; polls every `poll_s` when nothing was due."""
        while not stop.is_set():
            ran = 0
            try:
                ran = await self.run_due()
            except Exception:  # the database is away: try again on the next poll
                log.warning("scheduler poll failed", exc_info=True)
            if ran:
                continue
            try:
                await asyncio.wait_for(stop.wait(), poll_s)
            except TimeoutError:
                pass
