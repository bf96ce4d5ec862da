"""The `hirebuddha` command (docs/contract.md "Commands")."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

os.environ.setdefault("PICCOLO_CONF", "runtime.piccolo_conf")


def _call(target: str) -> Callable[..., Any]:
    """Resolve "module:function" lazily, so runtime imports neither web nor actors."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def cmd_migrate(args: argparse.Namespace) -> int:
    from runtime.migrate import migrate

    asyncio.run(migrate())
    print("migrations applied")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    async def run() -> None:
        from runtime import db

        await db.open_pool(2)
        try:
            user_id = await _call("web.seed:create_admin")(args.email, args.password)
        finally:
            await db.close_pool()
        print(f"app admin {args.email} created ({user_id})")

    asyncio.run(run())
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    import uvicorn

    from runtime.settings import get_settings

    http = get_settings().http
    # After a graceful shutdown uvicorn re-raises the SIGTERM it caught with the previous
    # handler back in place: by default that killed the drained process with -15. Exit 0
    # instead (tests/test_faults_db.py); before uvicorn starts this exits 0 at once as well.
    signal.signal(signal.SIGTERM, _exit_zero)
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=args.host or http.host,
        port=args.port or http.port,
        log_config=None,
        ws_max_size=1 << 20,
        # uvicorn's sans-I/O implementation: no task per socket besides the app's (the legacy
        # "websockets" one kept three, ~15 KB of an idle socket's 35 KB; issue 11). It is
        # flow-controlled both ways in the uvicorn we require (0.54): reading pauses after each message until
        # the app receives it, and sending waits while the transport's buffer is full, so a
        # flooding client is bounded (tests/test_fuzz_ws.py). Ours keeps less per idle socket
        # (no asyncio.Queue/Event, no handshake objects once answered; web/chat/wsprotocol.py).
        ws="web.chat.wsprotocol:LeanWebSocketProtocol",
        # No permessage-deflate: a browser negotiating it costs two zlib contexts per socket
        # (tens of KB each idle socket), for frames of a few tokens.
        ws_per_message_deflate=False,
        # No protocol pings from the server: clients keep alive with the chat's `ping` frame,
        # and an idle socket is closed after IDLE_TIMEOUT_S (web/chat/protocol.py).
        ws_ping_interval=None,
        # Bounded drain: in-flight requests get this long after SIGTERM, then are cancelled.
        timeout_graceful_shutdown=10,
    )
    return 0


def _exit_zero(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_up(args: argparse.Namespace) -> int:
    return _call("runtime.launcher:up")(args)


# Process and tool commands implemented outside runtime/: "module:function" taking argv.
DELEGATED = {
    "actors": ("actors.worker:main", "an actors process hosting agent actors"),
    "fake-llm": ("tools.fake_llm:main", "an OpenAI-compatible streaming server for tests"),
    "fake-stripe": ("tools.fake_stripe:main", "localstripe on loopback (development and tests)"),
    "mailcatcher": ("tools.mailcatcher:main", "an SMTP server keeping mail for the admin console"),
    "ledger": ("ledger.cli:main", "the ledger consumer; `ledger verify` checks chains and totals"),
    "bench": ("tools.bench:main", "the benchmark"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hirebuddha", description="Hirebuddha agent runtime")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="migrate, seed on first run, run web + actors + ledger")
    up.add_argument("--actors", type=int, help="actors processes (default: one per core but one)")
    up.set_defaults(func=cmd_up)
    web = sub.add_parser("web", help="the Litestar web process")
    web.add_argument("--host")
    web.add_argument("--port", type=int)
    web.set_defaults(func=cmd_web)
    sub.add_parser("migrate", help="apply migrations, roles, RLS and triggers").set_defaults(func=cmd_migrate)
    admin = sub.add_parser("create-admin", help="create an app admin")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", required=True)
    admin.set_defaults(func=cmd_create_admin)
    for name, (_, help_text) in DELEGATED.items():
        sub.add_parser(name, help=help_text, add_help=False)  # listed in --help; see main()
    return parser


def _fast_loop() -> None:
    """uvloop for the actors, whose work is socket reads and writes (web gets it from uvicorn's
    `loop="auto"`); plain asyncio where it is not installed."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in DELEGATED:
        if argv[0] == "actors":
            _fast_loop()
        return int(_call(DELEGATED[argv[0]][0])(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
