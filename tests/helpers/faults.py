"""Private RabbitMQ nodes and PostgreSQL clusters that a fault test may kill and restart.

The shared services on 5672/5432 serve other engineers' tests: never touch them. These run
as the service users (rabbitmq / postgres) in a temporary directory of their own.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from conftest import free_port
from helpers.eventually import eventually

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as(user: str, argv: list[str], env: dict[str, str] | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        ["runuser", "-u", user, "--", "env", *[f"{k}={v}" for k, v in (env or {}).items()], *argv], **kw
    )


async def _port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


class PrivateRabbit:
    """A RabbitMQ node of our own on a free port; `stop()`/`start()` as often as needed."""

    def __init__(self) -> None:
        self.port = free_port()
        self.node = f"hbt{self.port}@localhost"
        self.dir = Path(tempfile.mkdtemp(prefix="hb-rabbit-"))
        (self.dir / "plugins").write_text("[].\n")
        # Our own config: the system one pins the listener to 5672 whatever NODE_PORT says.
        (self.dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        for path in (self.dir, self.dir / "plugins", self.dir / "rabbitmq.conf"):
            shutil.chown(path, "rabbitmq", "rabbitmq")
        self.env = {
            "HOME": "/var/lib/rabbitmq",  # its Erlang cookie, shared with rabbitmqctl
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.port + 20000 if self.port < 45000 else self.port - 20000),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "plugins"),
            "RABBITMQ_PID_FILE": str(self.dir / "pid"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
        }
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _ctl(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        argv = [
            "runuser",
            "-u",
            "rabbitmq",
            "--",
            "env",
            *[f"{k}={v}" for k, v in self.env.items()],
            str(RABBIT_BIN / "rabbitmqctl"),
            "-n",
            self.node,
            *args,
        ]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    async def start(self, timeout: float = 120) -> None:
        """Start the node and return once it accepts AMQP connections."""
        log = open(self.dir / "server.out", "ab")  # noqa: SIM115, ASYNC230 (kept for the node's life)
        self.proc = _as(
            "rabbitmq",
            [str(RABBIT_BIN / "rabbitmq-server")],
            self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        # await_startup fails at once until the node has registered with epmd: retry it.
        async def booted() -> bool:
            assert self.proc is not None and self.proc.poll() is None, f"RabbitMQ exited:\n{self.output()}"
            result = await asyncio.to_thread(self._ctl, "await_startup", "--timeout", "10", timeout=30)
            return result.returncode == 0

        await eventually(
            booted, what=f"private RabbitMQ to boot:\n{self.output()}", timeout=timeout, interval=0.2
        )
        await eventually(lambda: _port_open(self.port), what="the private broker's port", interval=0.2)

    def output(self) -> str:
        path = self.dir / "server.out"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    async def stop(self) -> None:
        """Kill the node outright (its whole process group), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            await asyncio.to_thread(self.proc.wait)
        # epmd-registered beam children may outlive the group leader: wait for the port to close.
        await eventually(lambda: _closed(self.port), what="the private broker's port to close", interval=0.2)
        self.proc = None

    async def cleanup(self) -> None:
        await self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


async def _closed(port: int) -> bool:
    return not await _port_open(port)


class PrivatePostgres:
    """A PostgreSQL 15 cluster of our own (trust auth) on a free port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="hb-pg-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-w",
                "-l",
                str(self.dir / "server.log"),
                *args,
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )

    async def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        await asyncio.to_thread(self._ctl, "-o", opts, "start")

    async def stop(self) -> None:
        """Immediate shutdown: every connection is cut, as in a crash."""
        await asyncio.to_thread(self._ctl, "-m", "immediate", "stop")

    async def cleanup(self) -> None:
        try:
            await self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
