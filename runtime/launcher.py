"""`hirebuddha up`: migrate, seed on first run, then run the Procfile's processes in one terminal.

Each process is a child running `hirebuddha <name>`; a child that dies is restarted with
backoff, Ctrl-C (or SIGTERM) stops them all gracefully (SIGTERM, then SIGKILL after 10 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import signal
import subprocess
import sys
import time

from runtime.settings import get_settings

PROCESSES = ("web", "actors", "ledger")


def available(names: tuple[str, ...] = PROCESSES) -> list[str]:
    """The process kinds this build can run: web, plus those whose module is installed."""
    from runtime.cli import DELEGATED

    def present(name: str) -> bool:
        if name not in DELEGATED:
            return True
        return importlib.util.find_spec(DELEGATED[name][0].partition(":")[0]) is not None

    return [n for n in names if present(n)]


async def _prepare() -> dict[str, str] | None:
    from runtime import db
    from runtime.cli import _call
    from runtime.migrate import migrate

    await migrate()
    await db.open_pool(2)
    try:
        return await _call("web.seed:seed_if_empty")()
    finally:
        await db.close_pool()


def _spawn(name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runtime.cli", name])


def up(args: argparse.Namespace) -> int:
    """Run the whole platform until interrupted."""
    credentials = asyncio.run(_prepare())
    if credentials:
        print("\nFirst run: seeded accounts (shown once, store them now):")
        for who, cred in credentials.items():
            print(f"  {who:18} {cred}")
    http = get_settings().http
    names = available()
    print(f"\nHirebuddha running: http://{http.host}:{http.port}  (processes: {', '.join(names)})")
    print("API docs at /schema; Ctrl-C stops everything.\n", flush=True)
    children = {n: _spawn(n) for n in names}
    backoff = dict.fromkeys(names, 1.0)
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stop:
            time.sleep(0.5)
            for name, child in list(children.items()):
                if child.poll() is not None and not stop:
                    print(f"{name} exited with {child.returncode}; restarting in {backoff[name]:.0f}s")
                    time.sleep(backoff[name])
                    backoff[name] = min(backoff[name] * 2, 30)
                    children[name] = _spawn(name)
    except KeyboardInterrupt:
        pass
    for child in children.values():
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for child in children.values():
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return 0
