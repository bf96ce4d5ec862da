"""`hirebuddha bench --peer litellm` (`make bench-peers`): Hirebuddha beside a peer gateway.

One run, one stack, one fake LLM: for each scenario, Hirebuddha (through its chat WebSocket,
the bench's own client), the LiteLLM proxy (one worker, no database; its OpenAI-compatible
HTTP API) and a direct call to the fake LLM (the same HTTP client, no gateway: the floor)
take turns, so machine load drifts over all three alike. Scenarios and sizes are the bench's:
`ttft` (N sequential chats on one connection, then N at once) and `streams` (C concurrent
replies of T tokens), with server CPU per 1,000 streamed tokens.

The peer lives in a virtualenv of its own (tools/bench/peer_litellm.py); this is not part of
`make test` (it installs from the network on first use).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from tools.bench import peer_litellm
from tools.bench.chat import Pace, reply, run_streams, run_ttft
from tools.bench.client import Chat
from tools.bench.peer_client import HttpChat
from tools.bench.progress import Progress
from tools.bench.stack import Stack, StartError, close_run, run_header
from tools.bench.stats import CpuMeter, summary

PEERS = ("litellm",)
PEER_SCENARIOS = ("ttft", "streams")
SCENARIO_LIMIT_S = 900
STREAM_WITHIN_S = 300.0
"""A peer's stream may take minutes at 1,000 streams: counted late, not dropped."""


@dataclass
class HttpTarget:
    """An OpenAI-compatible endpoint driven by `HttpChat`, and the processes it is charged."""

    name: str
    base_url: str
    model: str
    pids: dict[str, int]
    server: tuple[str, ...]
    """Names in `pids` whose CPU is the server's (the CPU-per-token figure)."""
    api_key: str = "bench-key"


async def _open(target: HttpTarget, count: int, progress: Progress, parallel: int = 100) -> list[HttpChat]:
    gate, opened = asyncio.Semaphore(parallel), []

    async def one() -> HttpChat:
        async with gate:
            chat = await HttpChat.open(target.base_url, target.model, target.api_key)
            opened.append(chat)
            progress.step(len(opened), count)
            return chat

    try:
        return list(await asyncio.gather(*(one() for _ in range(count))))
    except BaseException:
        await _close(opened)
        raise


async def _close(chats: Sequence[HttpChat]) -> None:
    await asyncio.gather(*(c.close() for c in chats), return_exceptions=True)


def _figures(chats: Sequence[Chat], tokens: int, pace: Pace) -> dict[str, Any]:
    """The figures `tools.bench.chat` reports for a chat run, for HTTP chats."""
    ok = [c for c in chats if c.ok and c.first_delta is not None and c.done is not None]
    expected = reply(tokens)
    return {
        "chats": len(chats),
        "completed": len(ok),
        "complete_text": sum(c.text == expected for c in ok),
        "errors": sorted({c.error for c in chats if c.error})[:5],
        "first_token_added_ms": summary([(c.first_delta - c.sent) * 1000 - pace.ttft_ms for c in ok]),  # type: ignore[operator]
        "completion_added_ms": summary(
            [(c.done - c.sent) * 1000 - pace.reply_ms(tokens) for c in ok]  # type: ignore[operator]
        ),
    }


async def http_ttft(
    target: HttpTarget, n: int, tokens: int, pace: Pace, progress: Progress
) -> dict[str, Any]:
    """As `chat.run_ttft`: N chats one after another on one connection, then N at once."""
    content = f"[[reply:{tokens}]] How soon does the first token arrive?"
    progress.phase(f"ttft [{target.name}] sequential")
    (one,) = await _open(target, 1, progress)
    try:
        for _ in range(3):  # warm-up, as the WebSocket run does
            await one.chat(content)
        sequential = []
        for i in range(n):
            sequential.append(await one.chat(content))
            progress.step(i + 1, n)
    finally:
        await one.close()
    progress.phase(f"ttft [{target.name}] {n} concurrent")
    chats = await _open(target, n, progress)
    try:
        concurrent = await asyncio.gather(*(c.chat(content) for c in chats))
    finally:
        await _close(chats)
    return {
        "sequential": _figures(sequential, tokens, pace),
        "concurrent": _figures(concurrent, tokens, pace),
    }


async def http_streams(
    target: HttpTarget, c: int, tokens: int, pace: Pace, progress: Progress
) -> dict[str, Any]:
    """As `chat.run_streams`: C replies of `tokens` tokens at once; wall time, gaps, CPU."""
    content = f"[[reply:{tokens}]] Tell me a long story."
    progress.phase(f"streams [{target.name}] opening {c} connections")
    chats = await _open(target, c, progress)
    meter = CpuMeter(target.pids)
    try:
        progress.phase(f"streams [{target.name}] {c} streams x {tokens} tokens")
        meter.start()
        started = time.perf_counter()
        results = await asyncio.gather(*(ch.chat(content, within=STREAM_WITHIN_S) for ch in chats))
        seconds = time.perf_counter() - started
        cpu = meter.stop()
    finally:
        await _close(chats)
    delivered = sum(len(r.text.split()) for r in results)
    per_k = {name: round(s / (delivered / 1000), 4) if delivered else None for name, s in cpu.items()}
    return {
        **_figures(results, tokens, pace),
        "tokens_expected": c * tokens,
        "tokens_delivered": delivered,
        "all_delivered": delivered == c * tokens and all(r.text == reply(tokens) for r in results),
        "seconds": round(seconds, 3),
        "tokens_per_s": round(delivered / seconds, 1),
        "gap_ms": summary([g for r in results for g in r.gaps_ms()], (50, 90, 99)),
        "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
        "cpu_s_per_1k_tokens": per_k,
        "server_cpu_s_per_1k_tokens": _server_cpu(per_k, target.server),
    }


def _server_cpu(per_k: dict[str, float | None], names: Sequence[str]) -> float | None:
    values = [per_k.get(n) for n in names]
    if not values or any(v is None for v in values):
        return None  # no server (the direct call), or a process without a reading
    return round(sum(v for v in values if v is not None), 4)


async def _run(bench: Any, peer_url: str, peer_pid: int, progress: Progress) -> dict[str, Any]:
    """Every scenario, each target in turn: Hirebuddha, the peer, the direct call."""
    p, stack = bench.params, bench.stack
    llm = stack.pid("fake-llm")
    me = os.getpid()
    server = {f"litellm:{pid}": pid for pid in peer_litellm.process_tree(peer_pid)}
    peer = HttpTarget(
        "litellm",
        peer_url,
        peer_litellm.MODEL,
        {**server, "fake-llm": llm, "bench-client": me},
        tuple(server),
        peer_litellm.MASTER_KEY,
    )
    direct = HttpTarget(
        "direct", stack.urls["fake-llm"], peer_litellm.MODEL, {"fake-llm": llm, "bench-client": me}, ()
    )
    out: dict[str, Any] = {"ttft": {}, "streams": {}}
    for name in p.scenarios:
        async with asyncio.timeout(SCENARIO_LIMIT_S):
            if name == "ttft":
                out[name]["hirebuddha"] = await run_ttft(
                    bench.platform, p.ttft_chats, p.ttft_tokens, bench.pace, progress
                )
                for t in (peer, direct):
                    out[name][t.name] = await http_ttft(t, p.ttft_chats, p.ttft_tokens, bench.pace, progress)
            elif name == "streams":
                hb: dict[str, Any] = await run_streams(
                    bench.platform, p.streams, p.stream_tokens, bench.pace, progress
                )
                hb["server_cpu_s_per_1k_tokens"] = _server_cpu(
                    hb["cpu_s_per_1k_tokens"], ("web", "actors", "ledger")
                )
                out[name]["hirebuddha"] = hb
                for t in (peer, direct):
                    out[name][t.name] = await http_streams(
                        t, p.streams, p.stream_tokens, bench.pace, progress
                    )
        stack.check_alive()
    return out


COLUMNS = ("direct", "hirebuddha", "litellm")


def rows(run: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The comparison table: one row per figure, one column per target."""
    res, p = run["results"], run["params"]
    pace = Pace(p["tokens_per_second"], p["ttft_ms"])

    def cell(scenario: str, path: Sequence[str], fmt: str, scale: float = 1.0) -> list[str]:
        cells = []
        for target in COLUMNS:
            value: Any = res.get(scenario, {}).get(target, {})
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            cells.append("-" if not isinstance(value, int | float) else fmt.format(value * scale))
        return cells

    def pair(scenario: str, mode: str) -> list[str]:
        p50 = cell(scenario, (mode, "first_token_added_ms", "p50"), "{:,.1f}")
        p99 = cell(scenario, (mode, "first_token_added_ms", "p99"), "{:,.1f}")
        return [f"{a} / {b}" for a, b in zip(p50, p99, strict=True)]

    n, c, t = p["ttft_chats"], p["streams"], p["stream_tokens"]
    schedule = pace.reply_ms(t) / 1000
    return [
        (f"first token added, {n} sequential, p50 / p99 (ms)", pair("ttft", "sequential")),
        (f"first token added, {n} concurrent, p50 / p99 (ms)", pair("ttft", "concurrent")),
        (
            f"{c:,} streams x {t} tokens: wall time (schedule {schedule:g} s)",
            cell("streams", ("seconds",), "{:,.1f} s"),
        ),
        (
            f"{c:,} streams: first token p99 (s)",
            cell("streams", ("first_token_added_ms", "p99"), "{:,.2f}", 0.001),
        ),
        (f"{c:,} streams: gap between deltas p99 (ms)", cell("streams", ("gap_ms", "p99"), "{:,.1f}")),
        (
            f"{c:,} streams: tokens delivered (of {c * t:,})",
            cell("streams", ("tokens_delivered",), "{:,.0f}"),
        ),
        ("server CPU per 1,000 tokens (cpu-s)", cell("streams", ("server_cpu_s_per_1k_tokens",), "{:.3f}")),
    ]


def table(run: dict[str, Any]) -> str:
    """Markdown, ready for the README."""
    head = ["figure", "direct call", "Hirebuddha", f"LiteLLM {run['peer_version']}"]
    lines = [head, ["---"] * len(head)] + [[name, *cells] for name, cells in rows(run)]
    title = (
        f"hirebuddha bench --peer litellm ({'quick' if run['params']['quick'] else 'full'}), "
        f"{run['cpu_count']} cores, {run['duration_s']} s; fake LLM "
        f"{run['params']['tokens_per_second']:g} tok/s; server CPU: Hirebuddha web+actors+ledger, "
        "LiteLLM its process tree"
    )
    return "\n".join([title, *("| " + " | ".join(line) + " |" for line in lines)])


async def _main(params: Any, args: argparse.Namespace) -> dict[str, Any]:
    from tools.bench.cli import Bench

    progress = Progress()
    progress.phase(f"peer: litellm {peer_litellm.VERSION} in {peer_litellm.VENV}")
    version = await asyncio.to_thread(peer_litellm.install)
    stack = Stack(keep=args.keep)
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    started = time.time()
    bench = Bench(params, stack, progress)
    try:
        await bench.setup()
        progress.phase("peer: starting the litellm proxy (one worker, no database)")
        url = await peer_litellm.start(stack, stack.urls["fake-llm"])
        await peer_litellm.warm(url)
        results = await _run(bench, url, stack.pid("litellm"), progress)
    finally:
        await close_run(bench, stack, progress)
    return {
        **run_header(started),
        "peer": "litellm",
        "peer_version": version,
        "params": asdict(params),
        "results": results,
    }


def main(args: argparse.Namespace, params: Any) -> int:
    """Run the comparison; print the table; write the JSON when asked."""
    if args.peer not in PEERS:
        print(f"unknown peer {args.peer!r}; choose from {', '.join(PEERS)}", file=sys.stderr)
        return 2
    params = replace(
        params,
        scenarios=tuple(s for s in params.scenarios if s in PEER_SCENARIOS) or PEER_SCENARIOS,
        baseline=False,
    )
    try:
        run = asyncio.run(_main(params, args))
    except StartError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("bench interrupted", file=sys.stderr)
        return 130
    print(table(run))
    if args.json_path:
        with open(args.json_path, "w") as fh:
            json.dump(run, fh, indent=2, default=str)
            fh.write("\n")
        print(f"figures written to {args.json_path}")
    done = run["results"].get("streams", {})
    return 0 if all(r.get("all_delivered") for r in done.values()) else 1
