"""The processes under test, as real subprocesses on a database and AMQP prefix of their own.

`Stack` creates the database (`hirebuddha_bench_<pid>`), runs `hirebuddha migrate`, creates an
app admin, starts the fake LLM, web, actors and ledger processes (and the baseline server),
and at the end stops them, deletes the AMQP objects of its prefix and drops the database
(unless `keep`). Children are started as `python -m runtime.cli <command>`, so this module
imports neither web nor actors.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

SERVER_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
ADMIN_PASSWORD = "bench admin password 1"
REDELIVERED = re.compile(r"execution\.take \S+ \(delivery True\)")
"""The actors' log line of an execution message that was delivered before (actors.worker)."""


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the bench dies (no orphans even on SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Proc:
    """One child process, its output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


class StartError(RuntimeError):
    """A process did not come up; the message carries the end of its output."""


@dataclass
class Stack:
    """Everything the bench starts, and how to reach it."""

    keep: bool = False
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="hb-bench-")))
    procs: dict[str, Proc] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        tag = f"{os.getpid()}_{secrets.token_hex(2)}"
        self._gone_redeliveries = 0
        self.trace_dir = self.workdir / "trace"
        self.trace_dir.mkdir()
        self.db_name = f"hirebuddha_bench_{tag}"
        self.prefix = f"bench-{tag}."
        self.admin_email = f"bench-admin-{tag}@example.org"
        self.database_url = f"postgresql://postgres@127.0.0.1:5432/{self.db_name}"
        self.env = {
            **os.environ,
            "HB_ENV": "development",
            "HB_HOME": str(self.workdir),
            "HB_DATABASE_URL": self.database_url,
            "HB_AMQP_PREFIX": self.prefix,
            "HB_SECRET_KEY": secrets.token_urlsafe(48),
            "HB_FERNET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "HB_LOGIN_LIMIT": "1000000",
            "HB_LOGIN_IP_LIMIT": "1000000",
            "HB_OPENAI_API_KEY": "bench-key",
            "PICCOLO_CONF": "runtime.piccolo_conf",
            # First-token stage marks (runtime/trace.py), joined by tools.bench.stages.
            "HB_TRACE_DIR": str(self.trace_dir),
        }
        self.env.pop("HB_APP_DATABASE_URL", None)
        self.env.pop("HB_OPENAI_BASE_URL", None)

    @property
    def amqp_url(self) -> str:
        return self.env.get("HB_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")

    # --- processes ------------------------------------------------------------------------

    def spawn(self, name: str, *args: str, module: str = "runtime.cli") -> Proc:
        """Start `python -m <module> <args>` with the bench's environment."""
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=Path(__file__).resolve().parents[2],
                preexec_fn=_die_with_parent,  # only a prctl between fork and exec
            )
        proc = Proc(name, popen, log)
        self.procs[name] = proc
        return proc

    async def run(self, name: str, *args: str, limit_s: float = 120) -> str:
        """Run a command to completion; its output, or StartError when it fails."""
        proc = self.spawn(name, *args)
        code = await asyncio.to_thread(proc.popen.wait, limit_s)
        self.procs.pop(name)
        if code != 0:
            raise StartError(f"`hirebuddha {' '.join(args)}` exited {code}:\n{proc.output()[-4000:]}")
        return proc.output()

    async def wait_output(self, proc: Proc, text: str, limit_s: float = 60) -> None:
        """Wait until the process printed `text`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        while text not in proc.output():
            if proc.popen.poll() is not None or loop.time() > deadline:
                raise StartError(f"{proc.name} never printed {text!r}:\n{proc.output()[-4000:]}")
            await asyncio.sleep(0.05)

    async def wait_http(self, proc: Proc, url: str, limit_s: float = 60) -> None:
        """Wait until `url` answers 200."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        async with httpx.AsyncClient(timeout=2) as client:
            while loop.time() < deadline and proc.popen.poll() is None:
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(url)).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise StartError(f"{proc.name}: {url} never answered:\n{proc.output()[-4000:]}")

    async def start_fake_llm(self, tokens_per_second: float, ttft_ms: float) -> str:
        """The fake LLM at the chosen pace; returns its base URL (ending in /v1)."""
        port = free_port()
        proc = self.spawn(
            "fake-llm",
            "fake-llm",
            "--port",
            str(port),
            "--tokens-per-second",
            str(tokens_per_second),
            "--ttft-ms",
            str(ttft_ms),
        )
        base = f"http://127.0.0.1:{port}"
        await self.wait_http(proc, f"{base}/_stats")
        self.urls["fake-llm"] = f"{base}/v1"
        self.env["HB_OPENAI_BASE_URL"] = f"{base}/v1"
        return self.urls["fake-llm"]

    async def prepare_database(self) -> None:
        """Create and migrate the bench's own database, and create its app admin."""
        await self.run("migrate", "migrate", limit_s=300)
        await self.run(
            "create-admin", "create-admin", "--email", self.admin_email, "--password", ADMIN_PASSWORD
        )

    async def start_platform(self, capacity: int, actors: int) -> str:
        """web, `actors` actors processes (`capacity` executions at once each) and ledger;
        returns web's base URL."""
        port = free_port()
        web = self.spawn("web", "web", "--port", str(port))
        ledger = self.spawn("ledger", "ledger")
        await self.start_actors(actors, capacity)
        base = f"http://127.0.0.1:{port}"
        await self.wait_http(web, f"{base}/health/ready")
        await self.wait_output(ledger, "ledger consumer ready")
        self.urls["web"] = base
        return base

    @property
    def actors(self) -> list[Proc]:
        """The running actors processes."""
        return [p for name, p in self.procs.items() if name.startswith("actors")]

    async def start_actors(self, count: int, capacity: int) -> None:
        """Replace the actors processes by `count` new ones (the layout `hirebuddha up
        --actors N` runs); old ones stop gracefully first (nothing is in flight then)."""
        for proc in self.actors:
            await asyncio.to_thread(proc.stop)
            self._gone_redeliveries += len(REDELIVERED.findall(proc.output()))
            del self.procs[proc.name]
        started = [
            self.spawn("actors" if i == 1 else f"actors-{i}", "actors", "--capacity", str(capacity))
            for i in range(1, count + 1)
        ]
        for proc in started:
            await self.wait_output(proc, "actors ready")

    def redeliveries(self) -> int:
        """Executions the actors processes took as redeliveries so far (their logs)."""
        return sum(len(REDELIVERED.findall(p.output())) for p in self.actors) + self._gone_redeliveries

    async def start_baseline(self) -> str:
        """The baseline chat server (no broker, no database); returns its base URL."""
        port = free_port()
        proc = self.spawn(
            "baseline",
            "--port",
            str(port),
            "--llm",
            self.urls["fake-llm"],
            module="tools.bench.baseline",
        )
        base = f"http://127.0.0.1:{port}"
        await self.wait_http(proc, f"{base}/health")
        self.urls["baseline"] = base
        return base

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def pids(self, name: str) -> list[int]:
        """Pids of the processes of one kind (`actors` counts `actors-2` ...)."""
        return [p.pid for n, p in self.procs.items() if n == name or n.startswith(f"{name}-")]

    def check_alive(self) -> None:
        """Raise when a long-running child has died."""
        for proc in self.procs.values():
            if proc.popen.poll() is not None:
                raise StartError(f"{proc.name} exited {proc.popen.returncode}:\n{proc.output()[-4000:]}")

    # --- teardown -------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop every child (in parallel), delete the AMQP objects, drop the database."""
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in self.procs.values()))
        if self.keep:
            return
        with contextlib.suppress(Exception):
            conn = await asyncpg.connect(SERVER_DSN, timeout=10)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            finally:
                await conn.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(20):
                await self._delete_amqp()

    async def _delete_amqp(self) -> None:
        import aio_pika

        from runtime.broker import topology

        topo = topology(self.prefix)
        connection = await aio_pika.connect(self.amqp_url)
        try:
            for queue in topo.queues:
                channel = await connection.channel()
                with contextlib.suppress(Exception):
                    await channel.queue_delete(queue.name)
            for exchange in topo.exchanges:
                channel = await connection.channel()
                with contextlib.suppress(Exception):
                    await channel.exchange_delete(exchange.name)
        finally:
            await connection.close()


async def close_run(bench: Any, stack: Stack, progress: Any) -> None:
    """The end of every bench run (ours or a peer's): the tenant's client, then the stack."""
    progress.phase("teardown")
    if hasattr(bench, "tenant"):
        await bench.tenant.http.aclose()
    await stack.close()
    progress.done()


def run_header(started: float) -> dict[str, Any]:
    """When a run started, how long it took and on how many cores (the JSON's first keys)."""
    return {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_s": round(time.time() - started, 1),
        "cpu_count": os.cpu_count(),
    }
