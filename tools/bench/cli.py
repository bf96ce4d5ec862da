"""`hirebuddha bench [--quick] [--only ttft,streams,...] [--json PATH] [sizes...]`.

Scenarios (README "Performance"): `ttft`, `streams`, `sockets`, `ledger`, `rest`; ttft, streams and sockets
also run against the baseline server (no broker, no database) so each figure has its floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import uvloop

from runtime.launcher import default_actors
from tools.bench import report
from tools.bench.chat import Pace, Target, run_streams, run_ttft
from tools.bench.client import MODEL, Tenant, setup_tenant
from tools.bench.floors import amqp_client_cpu, broker_round_trip
from tools.bench.ledger import run_ledger, wait_drained
from tools.bench.progress import Progress
from tools.bench.rest import run_rest
from tools.bench.sockets import run_sockets
from tools.bench.stack import Stack, StartError, close_run, run_header

SCENARIOS = ("ttft", "streams", "sockets", "rest", "ledger")
SCENARIO_LIMIT_S = 600


@dataclass
class Params:
    """Sizes of one run (the defaults of the full run; `--quick` shrinks them)."""

    scenarios: tuple[str, ...] = SCENARIOS
    baseline: bool = True
    tokens_per_second: float = 50.0
    ttft_ms: float = 0.0
    ttft_chats: int = 200
    ttft_tokens: int = 8
    streams: int = 1000
    stream_tokens: int = 250
    sockets: int = 10_000
    socket_sessions: int = 200
    ledger_events: int = 50_000
    rest_rate: float = 500.0
    rest_seconds: float = 20.0
    actors: int = 0
    """Actors processes of the main layout; 0: `hirebuddha up`'s default (one per core but one)."""
    scaling: bool = True
    """streams: also run with 1, 2 and N actors processes (tokens/s and CPU per layout)."""
    quick: bool = False

    @classmethod
    def quick_sizes(cls) -> dict[str, Any]:
        return {
            "ttft_chats": 20,
            "streams": 50,
            "stream_tokens": 60,
            "sockets": 300,
            "socket_sessions": 50,
            "ledger_events": 3000,
            "rest_rate": 200.0,
            "rest_seconds": 5.0,
            "quick": True,
        }

    @property
    def capacity(self) -> int:
        """Executions the actors process takes at once: every chat of the largest scenario."""
        return max(self.ttft_chats, self.streams) + 8

    @property
    def layout(self) -> int:
        """Actors processes of the main runs."""
        return self.actors or default_actors()

    @property
    def sessions(self) -> int:
        """Session 0 (warm-up), 1..N (concurrent ttft), N+1..2N (sequential ttft); streams
        and sockets reuse the first ones."""
        return max(2 * self.ttft_chats, self.streams, self.socket_sessions) + 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="hirebuddha bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="small sizes, under 2 minutes (CI smoke)")
    p.add_argument("--only", help=f"comma-separated scenarios out of {','.join(SCENARIOS)}")
    p.add_argument("--no-baseline", action="store_true", help="skip the baseline runs")
    p.add_argument("--json", dest="json_path", help="write every figure to this file")
    p.add_argument("--keep", action="store_true", help="keep the database and AMQP objects")
    p.add_argument("--tokens-per-second", type=float, help="fake LLM pace (R)")
    p.add_argument("--ttft-ms", type=float, help="fake LLM delay before the first token")
    p.add_argument("--ttft-chats", type=int, help="ttft: N sequential and N concurrent chats")
    p.add_argument("--ttft-tokens", type=int, help="ttft: tokens per reply")
    p.add_argument("--streams", type=int, help="streams: C concurrent sessions")
    p.add_argument("--stream-tokens", type=int, help="streams: tokens per reply")
    p.add_argument("--sockets", type=int, help="sockets: K idle sockets")
    p.add_argument("--ledger-events", type=int, help="ledger: E usage events")
    p.add_argument("--rest-rate", type=float, help="rest: requests per second")
    p.add_argument("--rest-seconds", type=float, help="rest: duration")
    p.add_argument(
        "--peer", help="litellm: a peer gateway beside Hirebuddha in one run (tools/bench/peer.py)"
    )
    p.add_argument("--actors", type=int, help="actors processes (default: hirebuddha up's)")
    p.add_argument("--no-scaling", action="store_true", help="streams: skip the 1/2/N actors runs")
    return p.parse_args(argv)


def params_of(args: argparse.Namespace) -> Params:
    sizes: dict[str, Any] = Params.quick_sizes() if args.quick else {}
    for name in (
        "tokens_per_second",
        "ttft_ms",
        "ttft_chats",
        "ttft_tokens",
        "streams",
        "stream_tokens",
        "sockets",
        "ledger_events",
        "rest_rate",
        "rest_seconds",
        "actors",
    ):
        if getattr(args, name) is not None:
            sizes[name] = getattr(args, name)
    if args.only:
        chosen = tuple(s.strip() for s in args.only.split(",") if s.strip())
        unknown = set(chosen) - set(SCENARIOS) - {"baseline"}
        if unknown:
            raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}; choose from {SCENARIOS}")
        sizes["scenarios"] = tuple(s for s in SCENARIOS if s in chosen)
    sizes["baseline"] = not args.no_baseline
    # The 1/2/N actors runs restart the actors twice: the full run's, not the smoke step's.
    sizes["scaling"] = not (args.no_scaling or args.quick)
    return Params(**sizes)


async def _versions(stack: Stack) -> dict[str, Any]:
    from importlib.metadata import version

    import aio_pika
    import asyncpg

    out: dict[str, Any] = {"python": sys.version.split()[0]}
    for package in ("litestar", "faststream", "aio-pika", "asyncpg", "uvicorn", "websockets", "msgspec"):
        out[package] = version(package)
    conn = await asyncpg.connect(stack.database_url)
    try:
        out["postgresql"] = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    connection = await aio_pika.connect(stack.amqp_url)
    try:
        transport = connection.transport
        out["rabbitmq"] = transport.connection.server_properties.get("version") if transport else None
    finally:
        await connection.close()
    return out


class Bench:
    """One run: the stack, the tenant, the targets and every scenario's results."""

    def __init__(self, params: Params, stack: Stack, progress: Progress) -> None:
        self.params, self.stack, self.progress = params, stack, progress
        self.pace = Pace(params.tokens_per_second, params.ttft_ms)
        self.results: dict[str, Any] = {}

    async def setup(self) -> None:
        p, stack = self.params, self.stack
        self.progress.phase("setup: database and migrations")
        await stack.prepare_database()
        self.progress.phase("setup: fake LLM, web, actors, ledger")
        await stack.start_fake_llm(p.tokens_per_second, p.ttft_ms)
        web = await stack.start_platform(p.capacity, p.layout)
        if p.baseline and {"ttft", "streams", "sockets"} & set(p.scenarios):
            await stack.start_baseline()
        self.progress.phase("setup: tenant, agent and sessions through the API")
        self.tenant: Tenant = await setup_tenant(web, stack.admin_email, 10_000, p.stream_tokens + 100)
        await self.tenant.open_sessions(p.sessions)
        ws = web.replace("http://", "ws://")
        usage_queue = f"{stack.prefix}hirebuddha.usage"

        async def settle() -> None:
            await wait_drained(stack.amqp_url, usage_queue)

        me = os.getpid()

        def platform_pids() -> dict[str, list[int]]:
            kinds = ("web", "actors", "ledger", "fake-llm")
            return {**{k: stack.pids(k) for k in kinds}, "bench-client": [me]}

        self.platform = Target(
            "hirebuddha",
            lambda i: f"{ws}/api/v1/sessions/{self.tenant.sessions[i]}/ws",
            self.tenant.login,
            platform_pids,
            settle,
            trace_dir=stack.trace_dir,
            redeliveries=stack.redeliveries,
        )
        self.baseline: Target | None = None
        if "baseline" in stack.urls:
            bws = stack.urls["baseline"].replace("http://", "ws://")

            async def no_token() -> str:
                return "baseline"

            self.baseline = Target(
                "baseline",
                lambda i: f"{bws}/ws",
                no_token,
                lambda: {
                    "baseline": stack.pids("baseline"),
                    "fake-llm": stack.pids("fake-llm"),
                    "bench-client": [me],
                },
            )

    def _targets(self) -> list[Target]:
        return [t for t in (self.baseline, self.platform) if t is not None]

    async def ttft(self) -> dict[str, Any]:
        p = self.params
        self.progress.phase("ttft: broker floor (plain aio-pika round trip)")
        out: dict[str, Any] = {"broker_round_trip_ms": await broker_round_trip(self.stack.amqp_url)}
        self.progress.phase("ttft: AMQP client CPU, the runtime's paths beside the libraries'")
        out["amqp_client_cpu_us"] = await amqp_client_cpu(self.stack.amqp_url, 400 if p.quick else 1000)
        for target in self._targets():
            out[target.name] = await run_ttft(target, p.ttft_chats, p.ttft_tokens, self.pace, self.progress)
        return out

    async def streams(self) -> dict[str, Any]:
        p = self.params
        out: dict[str, Any] = {
            t.name: await run_streams(t, p.streams, p.stream_tokens, self.pace, self.progress)
            for t in self._targets()
        }
        out["hirebuddha"]["actors_processes"] = p.layout
        if p.scaling:
            out["scaling"] = {str(p.layout): _scaling_figures(out["hirebuddha"])} | await self._scaling()
        return out

    async def _scaling(self) -> dict[str, Any]:
        """The same streams with 1 and 2 actors processes beside the main layout's N."""
        p, runs = self.params, {}
        for count in sorted({1, 2} - {p.layout}):
            self.progress.phase(f"streams: {count} actors processes")
            await self.stack.start_actors(count, p.capacity)
            result = await run_streams(self.platform, p.streams, p.stream_tokens, self.pace, self.progress)
            runs[str(count)] = _scaling_figures(result)
        await self.stack.start_actors(p.layout, p.capacity)
        return runs

    async def sockets(self) -> dict[str, Any]:
        p, out = self.params, {}
        for t in self._targets():
            pid = self.stack.pid("web" if t is self.platform else "baseline")
            out[t.name] = await run_sockets(t, p.sockets, p.socket_sessions, pid, self.progress)
        return out

    async def rest(self) -> dict[str, Any]:
        p = self.params
        return await run_rest(
            self.stack.urls["web"],
            await self.tenant.login(),
            p.rest_rate,
            p.rest_seconds,
            self.stack.pid("web"),
            self.progress,
        )

    async def ledger(self) -> dict[str, Any]:
        self.progress.phase("ledger: a tenant of its own")
        tenant = await setup_tenant(self.stack.urls["web"], self.stack.admin_email, 10, 100)
        try:
            return await run_ledger(
                self.stack.env,
                self.stack.database_url,
                tenant.tenant_id,
                MODEL,
                self.params.ledger_events,
                self.progress,
                ledger_pid=self.stack.pid("ledger"),
            )
        finally:
            await tenant.http.aclose()

    async def run(self) -> None:
        for name in self.params.scenarios:
            self.stack.check_alive()
            try:
                async with asyncio.timeout(SCENARIO_LIMIT_S):
                    self.results[name] = await getattr(self, name)()
            except TimeoutError as exc:
                raise StartError(f"scenario {name} did not finish in {SCENARIO_LIMIT_S} s") from exc
        self.stack.check_alive()


def _scaling_figures(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("tokens_per_s", "all_delivered", "seconds", "redeliveries", "cpu_s_per_1k_tokens")
    return {k: result.get(k) for k in keys} | {"gap_p99_ms": result.get("gap_ms", {}).get("p99")}


async def _main(params: Params, args: argparse.Namespace) -> dict[str, Any]:
    progress = Progress()
    stack = Stack(keep=args.keep)
    main_task = asyncio.current_task()
    assert main_task is not None
    # SIGTERM tears down like Ctrl-C does: children stopped, database dropped.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    started = time.time()
    bench = Bench(params, stack, progress)
    try:
        await bench.setup()
        versions = await _versions(stack)
        await bench.run()
    finally:
        await close_run(bench, stack, progress)
    return {
        **run_header(started),
        "versions": versions,
        "params": asdict(params),
        "database": stack.db_name if args.keep else None,
        "amqp_prefix": stack.prefix,
        "results": bench.results,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table; write the JSON when asked. Exit 1 on failure."""
    args = parse_args(argv)
    params = params_of(args)
    if args.peer:
        from tools.bench.peer import main as peer_main

        return peer_main(args, params)
    try:
        # uvloop, as the servers run: the client shares the cores with what it measures.
        run = uvloop.run(_main(params, args))
    except StartError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("bench interrupted", file=sys.stderr)
        return 130
    run["figures"] = report.figures(run)
    print(report.table(run))
    if args.json_path:
        with open(args.json_path, "w") as fh:
            json.dump(run, fh, indent=2, default=str)
            fh.write("\n")
        print(f"figures written to {args.json_path}")
    return 0 if report.complete(run) else 1
