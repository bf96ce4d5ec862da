"""PostgreSQL dies during traffic (a private cluster, stopped with `pg_ctl -m immediate` and
started again), and graceful SIGTERM of the web and ledger processes (actors: see
tests/test_chat_recovery.py).

Web, one actors process and a ledger run on the private cluster (migrated with
`hirebuddha migrate`) and on the run's RabbitMQ vhost, on a prefix of their own.
The test process reads the private cluster as its superuser (plain asyncpg), never through
`runtime.db`, which is bound to the suite's shared database.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aio_pika
import asyncpg
import httpx
import pytest
import websockets

from conftest import Process, start_web
from helpers.api import ApiUser, register
from helpers.catalog import SEED_CATALOG, TEST_MODELS
from helpers.chat_fixtures import fake_agent, open_session
from helpers.eventually import eventually
from helpers.fake_llm import FakeLLM
from helpers.faults import PrivatePostgres
from helpers.ledger import make_tenant, priced_model, start_ledger_process, usage
from helpers.platform import AMQP_URL, Platform, chat, fake_reply, running_platform
from ledger.service import entry_event_id
from runtime import db
from runtime.messages import encode

FAST = ("--heartbeat", "0.3", "--stale-after", "5", "--sweep-interval", "0.2")
FAIL_FAST_S = 10.0  # the bound on any request while the database is down
RECOVER_S = 45.0  # every process serves again this long after the database is back
DB_NAME = "hb_faults"


async def _migrate(env: dict[str, str]) -> None:
    proc = Process("migrate", env=env)
    code = await asyncio.to_thread(proc.proc.wait, 120)
    assert code == 0, f"migrate failed:\n{proc.output()[-3000:]}"


@dataclass
class OnPrivateDb:
    pg: PrivatePostgres
    platform: Platform
    ledger: Process

    @property
    def dsn(self) -> str:
        return self.pg.url(DB_NAME)

    async def query(self, sql: str, *args: object) -> list[asyncpg.Record]:
        """Superuser SQL on the private database (no RLS)."""
        conn = await asyncpg.connect(self.dsn)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()


@pytest.fixture
async def pg() -> AsyncIterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    await cluster.start()
    yield cluster
    await cluster.cleanup()


@pytest.fixture
async def on_private_db(pg: PrivatePostgres, database: str, fake_llm: FakeLLM) -> AsyncIterator[OnPrivateDb]:
    """Migrated private database; web, actors (fast sweeper) and ledger on it."""
    env = {
        "HB_DATABASE_URL": pg.url(DB_NAME),
        "HB_AMQP_URL": AMQP_URL,
        "HB_AMQP_PREFIX": f"test-{uuid.uuid4().hex[:8]}.",
        "HB_OPENAI_BASE_URL": fake_llm.base_url,
        "HB_OPENAI_API_KEY": "test-key",
    }
    await _migrate(env)
    conn = await asyncpg.connect(pg.url(DB_NAME))
    try:  # the models the suite's agents name, as tests/conftest.py seeds them in the run's database
        await conn.execute(SEED_CATALOG, list(TEST_MODELS), list(TEST_MODELS.values()))
        # `fake` priced in this private database: the ledger records the chats' usage instead
        # of dead-lettering it (a letter the web's sink cannot store while PostgreSQL is down
        # stays in the run's dead-letter queue).
        for kind in ("input_tokens", "output_tokens"):
            await conn.execute(
                "INSERT INTO system_rates (id, model, resource_type, unit, rate, billing_rate, valid_from) "
                "VALUES ($1, 'fake', $2, '1k_tokens', 0.5, 1.0, '2020-01-01')",
                uuid.uuid4(),
                kind,
            )
    finally:
        await conn.close()
    base, web = await start_web(env)
    platform = Platform(base, web, env)
    ledger = None
    try:
        await platform.start_actors(*FAST)
        ledger = await start_ledger_process("--batch-ms", "20", env=env)
        yield OnPrivateDb(pg, platform, ledger)
    finally:
        await platform.stop()
        if ledger is not None:
            await asyncio.to_thread(ledger.stop)


async def _priced_tenant(env: OnPrivateDb, tenant_id: str) -> str:
    """A model with input/output rates in the private database; returns its name."""
    model = f"pg-{uuid.uuid4().hex[:8]}"
    for kind in ("input_tokens", "output_tokens"):
        await env.query(
            "INSERT INTO system_rates (id, model, resource_type, unit, rate, billing_rate, valid_from) "
            "VALUES ($1, $2, $3, '1k_tokens', 0.5, 1.0, '2020-01-01')",
            uuid.uuid4(),
            model,
            kind,
        )
    return model


async def _publish_usage(prefix: str, events: list) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        for event in events:
            await channel.default_exchange.publish(
                aio_pika.Message(encode(event), content_type="application/json"),
                routing_key=f"{prefix}hirebuddha.usage",
            )


async def _timed(call) -> tuple[int, float]:
    started = time.monotonic()
    try:
        r = await asyncio.wait_for(call(), FAIL_FAST_S)
    except TimeoutError:
        return -1, time.monotonic() - started
    return r.status_code, time.monotonic() - started


async def test_database_restart_fails_fast_with_503_and_recovers_without_half_written_state(
    on_private_db: OnPrivateDb,
) -> None:
    """While PostgreSQL is down: every REST request answers 503 with Retry-After within
    FAIL_FAST_S (never a 500, never a hang), /health/ready reports database false, a chat
    stream in flight ends (completed or failed) rather than hanging the client. After it is
    back, without restarting any process and within RECOVER_S: REST answers 200 again, a chat
    reply streams to completion; no execution is left pending/running (the actor or the
    sweeper ends each); usage events published while it was down are all recorded exactly
    once, and `hirebuddha ledger verify` passes."""
    env = on_private_db
    platform = env.platform
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        admin: ApiUser = await register(client)
        bot = await fake_agent(admin)
        session = await open_session(admin, bot["id"])
        model = await _priced_tenant(env, admin.tenant_id)
        async with chat(platform, session, admin.token) as ws:
            final = await ws.reply(await ws.message("[[reply:3]]"))
            assert final["type"] == "execution.completed"

            # A long stream in flight when the database dies.
            inflight = await ws.message("[[reply:3000]]")
            await ws.until("delta", execution_id=inflight)
            await env.pg.stop()
            killed = time.monotonic()

            calls = {
                "list agents": lambda: admin.get("/api/v1/agents"),
                "get agent": lambda: admin.get(f"/api/v1/agents/{bot['id']}"),
                "create execution": lambda: admin.post(
                    "/api/v1/executions", json={"agent_id": bot["id"], "input": "while down"}
                ),
                "login": lambda: client.post(
                    "/api/v1/auth/login", json={"email": admin.email, "password": "x" * 12}
                ),
            }
            for _ in range(3):
                for name, call in calls.items():
                    status, took = await _timed(call)
                    assert status == 503, f"{name} while the database is down: {status} after {took:.1f}s"
                    assert took < FAIL_FAST_S
            r = await client.get("/health/ready")
            assert r.status_code == 503 and r.json()["checks"]["database"] is False, r.text
            assert time.monotonic() - killed < 4 * len(calls) * FAIL_FAST_S

            # Usage events reach the ledger while it cannot write: they must wait, not vanish.
            tenant = uuid.UUID(admin.tenant_id)
            events = [usage(tenant, model, 100 + i, 10) for i in range(20)]
            await _publish_usage(platform.env["HB_AMQP_PREFIX"], events)
            await asyncio.sleep(1)

            await env.pg.start()
            back = time.monotonic()
            # The in-flight stream ends one way or another (no frame-less hang for the client).
            end = await ws.reply(inflight)
            assert end["type"] in ("execution.completed", "execution.failed"), end

        async def agents_status() -> int:
            return (await admin.get("/api/v1/agents")).status_code

        await eventually(agents_status, lambda s: s == 200, "REST after the database returned", RECOVER_S)
        r = await client.get("/health/ready")
        assert r.status_code == 200, r.text

        async def chat_works() -> bool:
            try:
                async with chat(platform, session, admin.token) as ws:
                    execution = await ws.message("[[reply:4]]")
                    final = await ws.reply(execution)
                    return final["type"] == "execution.completed" and final["text"] == fake_reply(4)
            except (AssertionError, KeyError, TimeoutError, OSError):
                return False

        assert await eventually(chat_works, bool, "a chat reply after the database returned", RECOVER_S)
        assert time.monotonic() - back < 2 * RECOVER_S

    async def unfinished() -> list:
        return await env.query("SELECT id, status FROM executions WHERE status IN ('pending', 'running')")

    await eventually(unfinished, lambda rows: not rows, "every execution to end", RECOVER_S)
    row = (await env.query("SELECT status FROM executions WHERE id = $1", uuid.UUID(inflight)))[0]
    assert row["status"] in ("completed", "failed")

    # Each event is priced as one entry per resource, keyed by a derived (UNIQUE) event id.
    keys = [entry_event_id(e.event_id, kind) for e in events for kind in ("input_tokens", "output_tokens")]

    async def recorded() -> int:
        rows = await env.query("SELECT count(*) AS n FROM ledger_entries WHERE event_id = ANY($1)", keys)
        return rows[0]["n"]

    what = f"the ledger to record the events; its output:\n{env.ledger.output()[-3000:]}"
    await eventually(recorded, lambda n: n == len(keys), what, RECOVER_S)
    await asyncio.sleep(1)  # a redelivery priced twice would show up now
    assert await recorded() == len(keys)
    verify = Process("ledger", "verify", env=platform.env)
    code = await asyncio.to_thread(verify.proc.wait, 60)
    assert code == 0, verify.output()[-3000:]
    for proc in [platform.web, *platform.actors, env.ledger]:
        assert proc.proc.poll() is None, f"a process died:\n{proc.output()[-3000:]}"


GRACE_S = 15.0  # the bound on a graceful exit after SIGTERM


async def test_web_sigterm_ends_an_in_flight_stream_cleanly_and_exits_0(
    database: str, fake_llm: FakeLLM
) -> None:
    """SIGTERM to the web process during a streaming chat: the client sees the execution's
    final frame or a clean close of its socket (never a hang), the process exits 0 within
    GRACE_S, and the execution still ends (the actor finishes it without the web)."""
    async with running_platform(fake_llm, 1) as platform:
        async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
            admin = await register(client)
            session = await open_session(admin, (await fake_agent(admin))["id"])
            async with chat(platform, session, admin.token) as ws:
                execution = await ws.message("[[reply:2000]]")
                await ws.until("delta", execution_id=execution)
                platform.web.proc.terminate()
                ended = time.monotonic()
                try:
                    final = await ws.until(
                        "execution.completed", "execution.failed", execution_id=execution, timeout=GRACE_S
                    )
                    assert final["type"] in ("execution.completed", "execution.failed"), final
                except websockets.ConnectionClosed as closed:
                    assert closed.rcvd is not None and closed.rcvd.code in (1001, 1012), closed
            code = await asyncio.to_thread(platform.web.proc.wait, GRACE_S)
            assert code == 0, platform.web.output()[-3000:]
            assert time.monotonic() - ended < GRACE_S
        await eventually(
            lambda: _status(execution), lambda s: s in ("completed", "failed"), "the execution to end", 30
        )


async def _status(execution: str) -> str:
    async with db.scope(system=True):
        row = await db.fetchrow("SELECT status FROM executions WHERE id = $1", uuid.UUID(execution))
    assert row is not None
    return row["status"]


async def _queue_depth(name: str) -> int:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(name, passive=True)
        return queue.declaration_result.message_count or 0


async def test_ledger_sigterm_commits_and_acks_the_batch_in_flight_and_exits_0(database: str) -> None:
    """SIGTERM to the ledger while it works through a backlog: it exits 0 within GRACE_S, and
    what it leaves is consistent: every event is either fully recorded (both resources) and
    acked, or still in the queue, never both and never half (recorded + queued == published).
    A second ledger then records the rest: entries == events, and `ledger verify` passes."""
    total = 3000
    prefix = f"test-{uuid.uuid4().hex[:8]}."
    tenant = await make_tenant(credit="1000000")
    model = await priced_model()
    events = [usage(tenant, model, 100, 10) for _ in range(total)]
    keys = [entry_event_id(e.event_id, kind) for e in events for kind in ("input_tokens", "output_tokens")]

    async def entries() -> int:
        async with db.scope(system=True):
            row = await db.fetchrow("SELECT count(*) AS n FROM ledger_entries WHERE event_id = ANY($1)", keys)
        assert row is not None
        return row["n"]

    # Small batches (many commits) and SIGTERM at the first ones: a backlog is still queued.
    ledger = await start_ledger_process("--batch-size", "10", env={"HB_AMQP_PREFIX": prefix})
    try:
        publishing = asyncio.create_task(_publish_usage(prefix, events))
        await eventually(entries, lambda n: n >= 20, "the ledger to be busy", 60)
        ledger.proc.terminate()
        await publishing
        stopped = time.monotonic()
        code = await asyncio.to_thread(ledger.proc.wait, GRACE_S)
        assert code == 0, ledger.output()[-3000:]
        assert time.monotonic() - stopped < GRACE_S
    finally:
        await asyncio.to_thread(ledger.stop)
    recorded = await entries()
    queued = await _queue_depth(f"{prefix}hirebuddha.usage")
    assert recorded % 2 == 0, "an event recorded for one resource only"
    assert recorded < 2 * total, "the backlog finished before SIGTERM: nothing was in flight"
    assert recorded // 2 + queued == total, f"recorded {recorded // 2} + queued {queued} != {total}"

    second = await start_ledger_process(env={"HB_AMQP_PREFIX": prefix})
    try:
        await eventually(entries, lambda n: n == 2 * total, "the second ledger to record the rest", 60)
        await asyncio.sleep(0.5)
        assert await entries() == 2 * total
    finally:
        await asyncio.to_thread(second.stop)
    verify = Process("ledger", "verify")
    assert await asyncio.to_thread(verify.proc.wait, 120) == 0, verify.output()[-3000:]


async def test_a_transaction_cut_by_a_database_crash_does_not_poison_its_task(pg: PrivatePostgres) -> None:
    """runtime.db.Transaction: when PostgreSQL dies inside a transaction, its rollback fails;
    the task must still forget that transaction, so the next one (after the restart) gets a
    fresh connection instead of "nesting" into the dead one forever (the ledger consumer,
    one long task, never recovered before)."""
    engine = db.Engine(config={"dsn": pg.url()}, extensions=())
    await engine.start_connection_pool(min_size=1, max_size=2)
    try:
        with pytest.raises((OSError, asyncpg.PostgresError, asyncpg.InterfaceError)):
            async with engine.transaction() as txn:
                await txn.connection.execute("SELECT 1")
                await pg.stop()
                await txn.connection.execute("SELECT 1")
        assert engine.current_transaction.get() is None, "the dead transaction is still current"
        await pg.start()

        async def works() -> bool:
            try:
                async with engine.transaction() as txn:
                    return await txn.connection.fetchval("SELECT 1") == 1
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                return False

        assert await eventually(works, bool, "a transaction after the restart", 15)
    finally:
        await engine.close_connection_pool()


async def test_a_database_refusing_new_connections_answers_503_not_500(on_private_db: OnPrivateDb) -> None:
    """PostgreSQL up but refusing the application role new connections (too many connections:
    the role's limit set to 0 and its sessions ended): REST answers 503 `unavailable` with
    Retry-After, never a 500; once it accepts again, the same requests answer 200."""
    env = on_private_db
    async with httpx.AsyncClient(base_url=env.platform.base_url, timeout=30) as client:
        admin: ApiUser = await register(client)
        assert (await admin.get("/api/v1/agents")).status_code == 200
        role = "hirebuddha_app"
        await env.query(f"ALTER ROLE {role} CONNECTION LIMIT 0")
        try:
            await env.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)
            for _ in range(3):
                r = await admin.get("/api/v1/agents")
                assert r.status_code == 503, r.text
                assert r.json()["code"] == "unavailable" and r.headers["retry-after"], r.text
        finally:
            await env.query(f"ALTER ROLE {role} CONNECTION LIMIT -1")
        await eventually(
            lambda: admin.get("/api/v1/agents"),
            lambda r: r.status_code == 200,
            "REST back",
            timeout=RECOVER_S,
        )
