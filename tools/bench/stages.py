"""The first-token path by stage: every millisecond between send and first delta has a name.

The stack runs with `HB_TRACE_DIR` (runtime/trace.py): web and actors append
`<execution id> <stage> <unix time>` lines there. Joined with the client's own send and
receive times (wall clock: one machine, one clock) they give, per chat, the time spent in:

  client -> web            `sent` .. `received` (socket frame read, the handler starts)
  admit                    `received` .. `admitted` (the execution row written)
  publish + consume        `admitted` .. `consumed` (confirmed publish, delivery, actor start)
  claim                    `consumed` .. `claimed` (the turn wait, claim, agent and history)
  provider setup           `claimed` .. `provider_called` (prompt, provider resolution)
  provider first byte      `provider_called` .. `provider_first_byte` (HTTP response head)
  first token              `provider_first_byte` .. `first_token` (first SSE text chunk)
  delta publish            `first_token` .. `delta_published`
  relay                    `delta_published` .. `relayed` (broker to the web relay)
  socket send              `relayed` .. `socket_sent`
  web -> client            `socket_sent` .. the client read the frame

Plus, beside them: `queued` (web: the publish was confirmed), as it overlaps the consume,
and the three hops inside the stages that are not our code: the admission statement
(`admission_sent` .. `admission_answered`, web, inside `admit`), the broker from publish to
delivery (`admitted` .. `delivered`, actors, inside `publish + consume`) and the claim
statement (`claim_sent` .. `claim_answered`, actors, inside `claim`).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from runtime import trace
from tools.bench.client import Chat
from tools.bench.stats import summary

WALL_OFFSET = time.time() - time.perf_counter()
"""Add to a perf_counter reading to get unix time (the client's clock is perf_counter)."""

PATH = (
    ("client -> web", "sent", "received"),
    ("admit", "received", "admitted"),
    ("publish + consume", "admitted", "consumed"),
    ("claim", "consumed", "claimed"),
    ("provider setup", "claimed", "provider_called"),
    ("provider first byte", "provider_called", "provider_first_byte"),
    ("first token parsed", "provider_first_byte", "first_token"),
    ("delta publish", "first_token", "delta_published"),
    ("relay", "delta_published", "relayed"),
    ("socket send", "relayed", "socket_sent"),
    ("web -> client", "socket_sent", "client"),
)
OVERLAPPING = (
    ("publish confirmed (web)", "admitted", "queued"),
    # Inside the stages above: the round trips that are not our code. The rest of `admit` is
    # the handler and the wait for the tenant's admission batch; the rest of `publish +
    # consume` is the actors process decoding the message and making the actor; the rest of
    # `claim` is the wait for the tenant's claim batch and the answer's decoding.
    ("admit: its statement (hb_admit_batch)", "admission_sent", "admission_answered"),
    ("publish + consume: broker (publish to delivery)", "admitted", "delivered"),
    ("claim: its statement (hb_begin_many)", "claim_sent", "claim_answered"),
)


def read_marks(trace_dir: Path) -> dict[str, dict[str, float]]:
    """Every process's marks: execution id -> stage -> first time it was marked."""
    marks: dict[str, dict[str, float]] = defaultdict(dict)
    for path in trace_dir.glob("trace-*.txt"):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3:
                marks[parts[0]].setdefault(parts[1], float(parts[2]))
    return marks


async def breakdown(chats: Sequence[Chat], trace_dir: Path) -> dict[str, dict[str, float]]:
    """Milliseconds per stage (p50, p90, p99 over the chats that have every mark)."""
    await asyncio.sleep(4 * trace.FLUSH_S)  # the processes write their marks within FLUSH_S
    marks = read_marks(trace_dir)
    per_stage: dict[str, list[float]] = defaultdict(list)
    for chat in chats:
        if chat.execution is None or chat.first_delta is None:
            continue
        times = dict(marks.get(chat.execution, {}))
        times["sent"] = chat.sent + WALL_OFFSET
        times["client"] = chat.first_delta + WALL_OFFSET
        for name, start, end in PATH + OVERLAPPING:
            if start in times and end in times:
                per_stage[name].append((times[end] - times[start]) * 1000)
    names = [name for name, _, _ in PATH + OVERLAPPING]
    return {name: summary(per_stage[name]) for name in names if per_stage[name]}
