"""`hirebuddha fake-stripe [--host 127.0.0.1] [--port 8420]`: localstripe on loopback.

localstripe (a stateful fake of Stripe's API, docs/billing.md "localstripe") listens on every
interface and pickles its state to /tmp/localstripe.pickle after each write, a file every
localstripe on the machine would share. This serves the same aiohttp application on the given
loopback address with the state in memory only (it lives as long as the process), for
`hirebuddha up` and the tests (tests/helpers/stripe.py). It also serves localstripe's fake
Stripe.js at `/js.stripe.com/v3/`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal

from aiohttp import web


def application() -> web.Application:
    """localstripe's app, its state kept in memory."""
    from localstripe import resources, server

    resources.store.dump_to_disk = lambda: None
    # Its ids come from the module `random`; a test that seeds it (Hypothesis does) in the same
    # process made localstripe draw the same ids again (409 Conflict). Its own source, then.
    resources.random = random.SystemRandom()
    return server.app


async def start(host: str, port: int) -> web.AppRunner:
    """Serve localstripe on host:port until the returned runner is cleaned up."""
    runner = web.AppRunner(application(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def _serve(host: str, port: int, webhook_url: str | None, webhook_secret: str | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = await start(host, port)
    if webhook_url and webhook_secret:  # localstripe signs and POSTs its events there
        from localstripe.webhooks import register_webhook

        register_webhook("hirebuddha", webhook_url, webhook_secret, None)
    print(f"fake stripe listening on http://{host}:{port}", flush=True)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hirebuddha fake-stripe", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--webhook-url", help="where to POST signed events (our webhook route)")
    parser.add_argument("--webhook-secret", help="the signing secret (HB_STRIPE_WEBHOOK_SECRET)")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.host, args.port, args.webhook_url, args.webhook_secret))
    return 0
