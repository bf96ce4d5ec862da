"""Suite-wide setup: one fresh database and AMQP prefix per run, a real web server process.

The environment is fixed here, before anything imports `runtime` (settings are read once).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

RUN = uuid.uuid4().hex[:8]
DB_NAME = f"hb_test_{RUN}"
ROOT = Path(__file__).resolve().parent.parent
VHOST_PREFIX = "hb-test-"
VHOST = f"{VHOST_PREFIX}{int(time.time())}-{RUN}"
STALE_VHOST_S = 1800


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The suite's SMTP server (helpers/smtp.py) listens here; every process the tests start
# sends its mail to it.
SMTP_PORT = _unused_port()
# localstripe (helpers/stripe.py) listens here once a test asks for it.
STRIPE_PORT = _unused_port()
STRIPE_WEBHOOK_SECRET = "whsec_" + secrets.token_hex(16)


def _rabbitmqctl(*args: str) -> str:
    out = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


@contextlib.contextmanager
def _vhost_lock() -> Iterator[None]:
    """One vhost change at a time on this machine, whichever run asks: concurrent add_vhost and
    delete_vhost calls (pytest-xdist workers starting and ending together, other runs beside
    them) once left the broker's vhost supervisor stuck, every later add_vhost hanging."""
    with open(os.path.join(tempfile.gettempdir(), "hirebuddha-vhosts.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _sweep_stale_vhosts() -> None:
    """Delete the vhosts of runs that died over 30 minutes ago (their quorum queues with them)."""
    for name in _rabbitmqctl("list_vhosts", "name").split():
        parts = name.removeprefix(VHOST_PREFIX).split("-")
        if (
            name.startswith(VHOST_PREFIX)
            and parts[0].isdigit()
            and time.time() - int(parts[0]) > STALE_VHOST_S
        ):
            _rabbitmqctl("delete_vhost", name)


# The vhost's name is decided here because settings are read once, at the first import of
# `runtime`; the vhost itself is created by the `amqp_vhost` fixture, before any test runs.
os.environ.update(
    HB_AMQP_URL=f"amqp://guest:guest@127.0.0.1:5672/{VHOST}",
    HB_ENV="test",
    HB_HOME=tempfile.mkdtemp(prefix="hb-test-"),
    HB_DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}",
    HB_AMQP_PREFIX=f"test-{RUN}.",
    HB_SECRET_KEY=secrets.token_urlsafe(48),
    HB_FERNET_KEY=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    HB_LOGIN_LIMIT="100000",
    HB_LOGIN_IP_LIMIT="100000",
    # The suite's webhook receivers listen on loopback, which the URL guard refuses by default.
    HB_URL_ALLOWLIST="127.0.0.0/8,::1,localhost",
    HB_SMTP_URL=f"smtp://127.0.0.1:{SMTP_PORT}",
    HB_STRIPE_API_BASE=f"http://127.0.0.1:{STRIPE_PORT}",
    HB_STRIPE_SECRET_KEY="sk_test_hirebuddha",
    HB_STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
    PICCOLO_CONF="runtime.piccolo_conf",
)

# Fixture modules shared by the suite; a test module names the fixtures it uses, never
# imports them. Listed after the environment is set: they import `runtime`.
pytest_plugins = [
    "helpers.fake_llm",
    "helpers.chat_fixtures",
    "helpers.rabbit",
    "helpers.proclogs",
    "helpers.webhooks",
    "helpers.browser",
    "helpers.dead_letters",  # `expect_dead_letters`, checked when the run ends
    "helpers.smtp",  # `mailbox`: the mail every process sent, read from a real SMTP server
    "helpers.otlp",  # `otlp_collector`: spans the processes export over OTLP/HTTP, decoded
    "helpers.oidc",  # `oidc_world`: two real OpenID providers and a web process they call back
    "helpers.channel_fakes",  # `telegram_api`, `whatsapp_api`: fakes of the channels' send APIs
    "helpers.stripe",  # `localstripe`: a stateful fake Stripe on loopback
]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    return _unused_port()


@pytest.fixture(scope="session", autouse=True)
def amqp_vhost() -> Iterator[str]:
    """This run's RabbitMQ virtual host, deleted with everything in it at the end.

    Everything a run declares (quorum queues of every process it starts, whatever prefix)
    lives in its vhost and is removed in one call. Killed runs used to leave their quorum
    queues behind; hundreds of them wedged the shared broker here.
    """
    with _vhost_lock():
        _sweep_stale_vhosts()
        _rabbitmqctl("add_vhost", VHOST)
        _rabbitmqctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")
    yield VHOST
    with _vhost_lock():
        _rabbitmqctl("delete_vhost", VHOST)


@pytest.fixture(scope="session")
async def database() -> AsyncIterator[str]:
    """A migrated database of this run, the app pool open in the test process; dropped after."""
    from helpers import dead_letters
    from runtime import db
    from runtime.migrate import migrate

    await migrate()
    await db.open_pool(10)
    from helpers.catalog import seed_test_catalog

    await seed_test_catalog()  # the models the suite's agents name (agents need catalog models)
    from helpers.tiers import unmeter_tiers

    await unmeter_tiers()  # hourly limits lifted for the suite's free tenants (helpers/tiers.py)
    yield DB_NAME
    try:  # every process of the run has stopped: its dead letters are all in
        await dead_letters.check(os.environ["HB_AMQP_URL"], VHOST)
    finally:
        await db.close_pool()
        import asyncpg

        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        finally:
            await conn.close()


class Process:
    """A `hirebuddha <command>` child process with this run's environment."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="hb-proc-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", *args],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        """Everything the process printed so far."""
        return Path(self.log.name).read_text(errors="replace")

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def wait_http(url: str, proc: Process, timeout: float = 60) -> None:
    """Poll until `url` answers 200; fail with the process output if it never does."""
    from helpers.eventually import eventually

    async with httpx.AsyncClient() as client:

        async def answers() -> bool:
            if proc.proc.poll() is not None:
                raise AssertionError("the process exited")
            try:
                return (await client.get(url)).status_code == 200
            except httpx.TransportError:
                return False

        try:
            await eventually(answers, what=url, timeout=timeout, interval=0.1)
        except AssertionError:
            proc.stop()
            raise AssertionError(
                f"{url} never became ready; process output:\n{proc.output()[-4000:]}"
            ) from None


async def start_web(env: dict[str, str] | None = None) -> tuple[str, Process]:
    """A real web process on a free port; returns its base URL and handle."""
    port = free_port()
    proc = Process("web", "--port", str(port), env=env)
    base = f"http://127.0.0.1:{port}"
    await wait_http(f"{base}/health/live", proc)
    return base, proc


@pytest.fixture(scope="session")
async def web_process(database: str) -> AsyncIterator[tuple[str, Process]]:
    """The web process shared by the suite: base URL and handle (for its log)."""
    base, proc = await start_web()
    yield base, proc
    proc.stop()


@pytest.fixture(scope="session")
def server(web_process: tuple[str, Process]) -> str:
    """Base URL of the web process shared by the suite."""
    return web_process[0]


@pytest.fixture
async def client(server: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the shared web process."""
    async with httpx.AsyncClient(base_url=server, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def run_id() -> Iterator[str]:
    """This run's unique id (used in names so runs never collide)."""
    yield RUN
