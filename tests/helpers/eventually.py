"""`eventually()`: the suite's one way to wait for something another process does.

Rows written by the ledger, dead letters stored by a sink, a log line of a child process:
there is no event to await across processes, so the test polls. One helper does it, with a
deadline and a failure message naming what never happened and the last value seen.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def _truthy(value: object) -> bool:
    return bool(value)


async def eventually(
    probe: Callable[[], Awaitable[T] | T],
    done: Callable[[T], bool] = _truthy,
    what: str = "the condition",
    timeout: float = 30,
    interval: float = 0.05,
) -> T:
    """Call `probe` (sync or async) until `done(value)`; return that value.

    Fails with an AssertionError naming `what` and the last value after `timeout` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if done(value):  # type: ignore[arg-type]
            return value  # type: ignore[return-value]
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; last value: {value!r}")
        await asyncio.sleep(interval)
