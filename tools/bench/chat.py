"""`ttft` and `streams`: chats through the runtime and through the baseline, timed at the client.

Runtime-added latency is what the client waited beyond the fake LLM's own schedule: the
first delta after `ttft_ms`, the last after `ttft_ms + (tokens - 1) / tokens_per_second`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.bench.client import Chat, ChatSocket
from tools.bench.progress import Progress
from tools.bench.stages import breakdown
from tools.bench.stats import CpuMeter, summary

WARMUP_CHATS = 3


@dataclass
class Pace:
    """The fake LLM's configured speed."""

    tokens_per_second: float
    ttft_ms: float

    def reply_ms(self, tokens: int) -> float:
        """When the fake LLM sends the last of `tokens` tokens, from the request."""
        gap = 1000 / self.tokens_per_second if self.tokens_per_second > 0 else 0
        return self.ttft_ms + max(tokens - 1, 0) * gap


@dataclass
class Target:
    """Where chats go: the runtime's web process or the baseline server."""

    name: str
    url_of: Callable[[int], str]
    """Socket URL of the i-th session."""
    token: Callable[[], Awaitable[str]]
    pids: Callable[[], dict[str, list[int]]]
    """Processes whose CPU is charged to this target, by kind (read when a run starts)."""
    settle: Callable[[], Awaitable[None]] | None = None
    """Waited for after a stream run, before CPU is read (the ledger's backlog)."""
    trace_dir: Path | None = None
    """Where the target's processes write first-token stage marks (`tools.bench.stages`)."""
    redeliveries: Callable[[], int] | None = None
    """Executions delivered more than once so far (target: none)."""


def reply(tokens: int) -> str:
    """What the fake LLM answers to `[[reply:N]]`."""
    return "".join(f"tok{k} " for k in range(1, tokens + 1))


async def open_sockets(
    target: Target, indexes: Sequence[int], progress: Progress, parallel: int = 100
) -> list[ChatSocket]:
    """Authenticated sockets on the sessions `indexes` (opened `parallel` at a time)."""
    gate, token, opened = asyncio.Semaphore(parallel), await target.token(), []

    async def one(i: int) -> ChatSocket:
        async with gate:
            sock = await ChatSocket.open(target.url_of(i), token)
            opened.append(sock)
            progress.step(len(opened), len(indexes))
            return sock

    try:
        return list(await asyncio.gather(*(one(i) for i in indexes)))
    except BaseException:
        await close_sockets(opened)
        raise


async def close_sockets(sockets: Sequence[ChatSocket]) -> None:
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)


def _chat_figures(chats: Sequence[Chat], tokens: int, pace: Pace) -> dict[str, object]:
    ok = [c for c in chats if c.ok and c.first_delta is not None and c.done is not None]
    first = [(c.first_delta - c.sent) * 1000 - pace.ttft_ms for c in ok]  # type: ignore[operator]
    total = [(c.done - c.sent) * 1000 - pace.reply_ms(tokens) for c in ok]  # type: ignore[operator]
    expected = reply(tokens)
    return {
        "chats": len(chats),
        "completed": len(ok),
        "complete_text": sum(c.text == expected for c in ok),
        "errors": sorted({c.error for c in chats if c.error})[:5],
        "first_token_added_ms": summary(first),
        "completion_added_ms": summary(total),
    }


async def run_ttft(target: Target, n: int, tokens: int, pace: Pace, progress: Progress) -> dict[str, object]:
    """N chats one after another, then N at once on N sockets; each chat is the first of its
    session.

    Sequential chats used to share one session: the 200th then carried 199 earlier turns
    (history read, a 400-message prompt to the fake LLM, whose answer slowed with it), and
    its first token came ~3x later than the 10th (runtime/trace.py stages). The floor sends
    no history, so that compared a long conversation with a first message. Now each
    sequential chat has a session of its own, its socket opened beforehand (not timed).
    """
    content = f"[[reply:{tokens}]] How soon does the first token arrive?"
    progress.phase(f"ttft [{target.name}] sequential: opening sockets")
    warm = (await open_sockets(target, [0], progress))[0]
    try:
        for _ in range(WARMUP_CHATS):
            await warm.chat(content)
    finally:
        await warm.close()
    socks = await open_sockets(target, range(n + 1, 2 * n + 1), progress)
    progress.phase(f"ttft [{target.name}] sequential")
    try:
        sequential = []
        for i, sock in enumerate(socks):
            sequential.append(await sock.chat(content))
            progress.step(i + 1, n)
    finally:
        await close_sockets(socks)
    progress.phase(f"ttft [{target.name}] {n} concurrent: opening sockets")
    sockets = await open_sockets(target, range(1, n + 1), progress)
    meter = CpuMeter(target.pids(), services=True)
    try:
        progress.phase(f"ttft [{target.name}] {n} concurrent chats")
        meter.start()
        concurrent = await asyncio.gather(*(s.chat(content) for s in sockets))
        cpu = meter.stop()
    finally:
        await close_sockets(sockets)
    out: dict[str, dict[str, object]] = {
        "sequential": _chat_figures(sequential, tokens, pace),
        "concurrent": _chat_figures(concurrent, tokens, pace),
    }
    # CPU per chat of the burst, per process kind (the chats' whole replies, not only the
    # first token): what the burst competes for on a small machine.
    out["concurrent"]["cpu_ms_per_chat"] = {k: round(v * 1000 / max(n, 1), 2) for k, v in cpu.items()}
    if target.trace_dir is not None:
        out["sequential"]["stages_ms"] = await breakdown(sequential, target.trace_dir)
        out["concurrent"]["stages_ms"] = await breakdown(concurrent, target.trace_dir)
    return dict(out)


async def run_streams(
    target: Target, c: int, tokens: int, pace: Pace, progress: Progress
) -> dict[str, object]:
    """C sessions each receive a `tokens`-token reply at once; throughput, gaps, CPU."""
    content = f"[[reply:{tokens}]] Tell me a long story."
    progress.phase(f"streams [{target.name}] opening {c} sockets")
    sockets = await open_sockets(target, range(1, c + 1), progress)
    meter = CpuMeter(target.pids(), services=True)
    redelivered = target.redeliveries() if target.redeliveries else None
    try:
        progress.phase(f"streams [{target.name}] {c} streams x {tokens} tokens")
        meter.start()
        started = time.perf_counter()
        finished = 0

        async def one(sock: ChatSocket) -> Chat:
            nonlocal finished
            chat = await sock.chat(content, within=60 + 3 * pace.reply_ms(tokens) / 1000)
            finished += 1
            progress.step(finished, c)
            return chat

        chats = await asyncio.gather(*(one(s) for s in sockets))
        ended = time.perf_counter()
        if target.settle is not None:
            await target.settle()
        cpu = meter.stop()
    finally:
        await close_sockets(sockets)
    delivered = sum(len(ch.text.split()) for ch in chats)
    gaps = [g for ch in chats for g in ch.gaps_ms()]
    per_k = {name: round(s / (delivered / 1000), 4) if delivered else None for name, s in cpu.items()}
    # Where the burst's first tokens wait: the same stages as ttft's, over every stream.
    stages = await breakdown(chats, target.trace_dir) if target.trace_dir is not None else {}
    return {
        "stages_ms": stages,
        **_chat_figures(chats, tokens, pace),
        "tokens_expected": c * tokens,
        "tokens_delivered": delivered,
        "all_delivered": delivered == c * tokens and all(ch.text == reply(tokens) for ch in chats),
        "seconds": round(ended - started, 3),
        "tokens_per_s": round(delivered / (ended - started), 1),
        "deltas": sum(len(ch.deltas) for ch in chats),
        "gap_ms": summary(gaps, (50, 90, 99)),
        "redeliveries": target.redeliveries() - redelivered
        if target.redeliveries and redelivered is not None
        else None,
        "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
        "cpu_s_per_1k_tokens": per_k,
    }
