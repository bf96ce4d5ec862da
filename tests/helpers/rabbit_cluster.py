"""A throwaway 3-node RabbitMQ cluster on loopback (docs/operations.md "RabbitMQ cluster").

Each node is a real `rabbitmq-server` run as the current user from RabbitMQ's own bin
directory (not the /usr/sbin wrapper, which switches to the `rabbitmq` user and its cookie),
with everything of its own: node name `hbc<N>-<run>@localhost`, AMQP and Erlang
distribution ports from `free_port()`, data, logs, config, an empty plugin list (no
management listener on 15672) and an Erlang cookie in its own HOME. The machine's shared
broker (rabbit@localhost on 5672) shares nothing with it but epmd, where node names differ.
Nodes 2 and 3 join node 1 (`rabbitmqctl join_cluster`); queues declared afterwards as
quorum queues have a member on every node. Every node is stopped, and killed if it will
not stop, when the context exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from conftest import free_port

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
BOOT_TIMEOUT_S = 180


@dataclass
class Node:
    name: str
    amqp_port: int
    dist_port: int
    base: Path
    running: bool = True

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.base.parent),  # its .erlang.cookie
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),  # not /etc's NODENAME
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_PID_FILE": str(self.base / "pid"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.base / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }


@dataclass
class Cluster:
    nodes: list[Node]
    base: Path
    log: list[str] = field(default_factory=list)

    @property
    def amqp_url(self) -> str:
        """`HB_AMQP_URL` naming every node."""
        return ",".join(n.url for n in self.nodes)

    async def ctl(self, node: Node, *args: str, timeout: float = 120) -> str:
        """`rabbitmqctl -n <node> ...`; its output, or AssertionError with it."""

        def run() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [str(RABBIT_BIN / "rabbitmqctl"), "-n", node.name, *args],
                env=node.env(),
                capture_output=True,
                text=True,
                timeout=timeout,
            )

        done = await asyncio.to_thread(run)
        self.log.append(f"{node.name} {' '.join(args)} -> {done.returncode}")
        if done.returncode != 0:
            raise AssertionError(f"rabbitmqctl {' '.join(args)} on {node.name}: {done.stdout}{done.stderr}")
        return done.stdout

    def node_of(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    async def leader(self, queue: str) -> Node:
        """The node that leads quorum queue `queue` now."""
        alive = next(n for n in self.nodes if n.running)
        rows = json.loads(await self.ctl(alive, "list_queues", "-q", "name", "leader", "--formatter", "json"))
        return self.node_of(next(r["leader"] for r in rows if r["name"] == queue))

    async def stop(self, node: Node) -> None:
        """Stop one node (the Erlang VM exits), as an operator or a crash would take it away."""
        await self.ctl(node, "stop")
        node.running = False


async def _start(node: Node) -> None:
    node.base.mkdir(parents=True)
    (node.base / "rabbitmq-env.conf").write_text("")
    (node.base / "enabled_plugins").write_text("[].\n")
    (node.base / "advanced.config").write_text("[].\n")
    (node.base / "rabbitmq.conf").write_text(
        f"listeners.tcp.default = 127.0.0.1:{node.amqp_port}\nloopback_users = none\n"
    )
    proc = await asyncio.create_subprocess_exec(
        str(RABBIT_BIN / "rabbitmq-server"),
        "-detached",
        env=node.env(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await proc.wait()


async def _booted(cluster: Cluster, node: Node) -> None:
    """Wait for the node to boot; `-detached` returns before the VM registers with epmd,
    and `await_startup` gives up at once on a node epmd does not know yet."""
    for _ in range(60):
        try:
            await cluster.ctl(
                node, "await_startup", "--timeout", str(BOOT_TIMEOUT_S), timeout=BOOT_TIMEOUT_S + 10
            )
            return
        except AssertionError as exc:
            if "not running at all" not in str(exc):
                raise
        await asyncio.sleep(0.5)
    log = "\n".join(p.read_text()[-3000:] for p in (node.base / "log").glob("*.log"))
    raise AssertionError(f"{node.name} never started:\n{log}")


def _kill(node: Node) -> None:
    pid_file = node.base / "pid"
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)


@contextlib.asynccontextmanager
async def rabbit_cluster(size: int = 3) -> AsyncIterator[Cluster]:
    """Start `size` nodes, cluster them, yield; stop (or kill) every node afterwards."""
    run = uuid.uuid4().hex[:6]
    base = Path(tempfile.mkdtemp(prefix=f"hb-rabbit-{run}-"))
    (base / ".erlang.cookie").write_text(uuid.uuid4().hex.upper())
    (base / ".erlang.cookie").chmod(0o400)
    nodes = [
        Node(f"hbc{i}-{run}@localhost", free_port(), free_port(), base / f"n{i}") for i in range(1, size + 1)
    ]
    cluster = Cluster(nodes, base)
    try:
        await asyncio.gather(*(_start(n) for n in nodes))
        for node in nodes:
            await _booted(cluster, node)
        for node in nodes[1:]:
            await cluster.ctl(node, "stop_app")
            await cluster.ctl(node, "join_cluster", nodes[0].name)
            await cluster.ctl(node, "start_app")
        yield cluster
    finally:
        for node in nodes:
            if node.running:
                try:
                    await cluster.ctl(node, "stop", timeout=60)
                except Exception:
                    _kill(node)  # a node that would not stop: its own pid file names it
        shutil.rmtree(base, ignore_errors=True)
