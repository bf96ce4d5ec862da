"""`hirebuddha up`: migrate, seed on first run, then run the Procfile's processes in one terminal.

`--actors N` runs N actors processes (default: one per core but one): they share the executions
queues as competing consumers, and one process is CPU-bound at a few thousand tokens/s.

Each process is a child running `hirebuddha <name>`; a child that dies is restarted with
backoff, Ctrl-C (or SIGTERM) stops them all gracefully (SIGTERM, then SIGKILL after 10 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
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
    if name in _dev:
        return subprocess.Popen([sys.executable, "-m", "runtime.cli", *_dev[name]])
    kind, _, number = name.partition("-")  # "actors-2" is the second actors process
    return subprocess.Popen([sys.executable, "-m", "runtime.cli", kind], env=_env_of(number))


def _env_of(number: str) -> dict[str, str] | None:
    """The N-th actors process serves its metrics on `HB_ACTORS_METRICS_PORT` + N - 1."""
    base = get_settings().actors.metrics_port
    if not number or not base:
        return None
    return {**os.environ, "HB_ACTORS_METRICS_PORT": str(base + int(number) - 1)}


FAKE_STRIPE_PORT = 8420
MAILCATCHER_PORT = 1025
_dev: dict[str, list[str]] = {}
"""Development stand-ins `up` runs, by child name: their `hirebuddha ...` words."""


def dev_services(env: dict[str, str], web_url: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    """What `up` runs besides the Procfile outside production, and the environment that points
    the children at it: localstripe when no Stripe key is set, the mail catcher when no
    `HB_SMTP_URL` is (docs/billing.md "Running it locally")."""
    if env.get("HB_ENV") == "production":
        return {}, {}
    services: dict[str, list[str]] = {}
    extra: dict[str, str] = {}
    if not env.get("HB_STRIPE_SECRET_KEY"):
        secret = env.get("HB_STRIPE_WEBHOOK_SECRET") or "whsec_local_development"
        services["fake-stripe"] = [
            "fake-stripe",
            "--port",
            str(FAKE_STRIPE_PORT),
            "--webhook-url",
            f"{web_url}/api/v1/billing/stripe/webhook",
            "--webhook-secret",
            secret,
        ]
        extra.update(
            HB_STRIPE_API_BASE=f"http://127.0.0.1:{FAKE_STRIPE_PORT}",
            HB_STRIPE_SECRET_KEY="sk_test_local_development",
            HB_STRIPE_WEBHOOK_SECRET=secret,
        )
    if not env.get("HB_SMTP_URL"):
        services["mailcatcher"] = ["mailcatcher", "--port", str(MAILCATCHER_PORT)]
        extra["HB_SMTP_URL"] = f"smtp://127.0.0.1:{MAILCATCHER_PORT}"
    return services, extra


def default_actors() -> int:
    """Actors processes that fit this machine: one per core but one.

    `hirebuddha up` runs everything on one machine: the web process, the ledger, the broker and
    the database need a core between them. On two cores one actors process streamed more
    tokens per second than two in every full bench (11,924 vs 10,856/s; 9,652 vs 6,982/s),
    because two CPU-bound actors processes took the core the rest needed (README
    "Performance"). Past one machine, scale out with `--actors N` per machine."""
    return max(1, (os.cpu_count() or 1) - 1)


def children_of(kinds: list[str], actors: int) -> list[str]:
    """Child names: each kind once, `actors` as `actors`, `actors-2`, ... `actors-N`."""
    names: list[str] = []
    for kind in kinds:
        if kind == "actors":
            names += ["actors", *(f"actors-{i}" for i in range(2, actors + 1))]
        else:
            names.append(kind)
    return names


def up(args: argparse.Namespace) -> int:
    """Run the whole platform until interrupted."""
    credentials = asyncio.run(_prepare())
    if credentials:
        print("\nFirst run: seeded accounts (shown once, store them now):")
        for who, cred in credentials.items():
            print(f"  {who:18} {cred}")
    http = get_settings().http
    kinds = available()
    actors = getattr(args, "actors", None) or default_actors()
    names = children_of(kinds, actors)
    layout = f"{', '.join(kinds)}; {actors} actors processes" if "actors" in kinds else ", ".join(kinds)
    print(f"\nHirebuddha running: http://{http.host}:{http.port}  (processes: {layout})")
    print("API docs at /schema; Ctrl-C stops everything.\n", flush=True)
    services, extra = dev_services(dict(os.environ), f"http://{http.host}:{http.port}")
    _dev.update(services)
    os.environ.update(extra)  # inherited by every child spawned from here on
    names = [*services, *names]
    if services:
        print(f"Development stand-ins: {', '.join(services)} (mail shown in the admin console)\n", flush=True)
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
