"""`hirebuddha ledger [--batch-size N --batch-ms T]` and `hirebuddha ledger verify`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from runtime import db, heap
from runtime.logs import configure_logging
from runtime.settings import add_flags, get_settings


def _parser() -> argparse.ArgumentParser:
    """Flags: one per field of `LedgerSettings`, defaults from it (the environment's values)."""
    parser = argparse.ArgumentParser(prog="hirebuddha ledger", description=__doc__)
    add_flags(parser, get_settings().ledger)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("verify", help="re-derive every tenant's hash chain and totals; exit 1 on a mismatch")
    return parser


def _crash_hook(args: argparse.Namespace) -> int | None:
    """`--crash-after-commits N` / `HB_LEDGER_CRASH_AFTER_COMMITS`, honoured only with
    HB_ENV=test (crash tests)."""
    return args.crash_after_commits if get_settings().env == "test" else None


async def _consume(args: argparse.Namespace) -> int:
    from faststream.rabbit import Channel

    from ledger.consumer import LedgerConsumer
    from runtime import metrics, telemetry
    from runtime.broker import build_broker, topology

    settings = get_settings()
    telemetry.setup("ledger", settings.otlp_endpoint)
    metrics_server = metrics.serve(args.metrics_port, settings.metrics_host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await db.open_pool(4, custom_plans=True)  # its tables grow under its statements (runtime/db.py)
    broker = build_broker()
    try:
        await broker.connect()
        topo = topology()
        consumer = LedgerConsumer(
            broker,
            topo,
            batch_size=args.batch_size,
            batch_ms=args.batch_ms,
            crash_after_commits=_crash_hook(args),
        )
        ready = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop, ready))
        sweeper = asyncio.create_task(_sweep_until(stop, args.sweep_interval))
        sampling = Channel(publisher_confirms=False)  # its own channel: a failed declare closes it

        async def sampling_channel() -> object:
            return await broker.config.channel_manager.get_channel(sampling)

        sampler = asyncio.create_task(
            metrics.sample_queues(sampling_channel, {topo.label(topo.usage): topo.usage.name})
        )
        jobs = asyncio.create_task(_schedule_until(stop))
        await asyncio.wait({task, asyncio.create_task(ready.wait())}, return_when="FIRST_COMPLETED")
        if ready.is_set():
            # What start-up built lives as long as the process: out of the collector's sight,
            # a full collection under a flood no longer walks it (as in the actors and web).
            heap.settle_startup()
            print("ledger consumer ready", flush=True)  # tests and `up` wait for this line
        await task
        sweeper.cancel()
        sampler.cancel()
        jobs.cancel()
    finally:
        await broker.stop()
        await db.close_pool()
        if metrics_server is not None:
            metrics_server.shutdown()
    return 0


async def _sweep_until(stop: asyncio.Event, every_s: float) -> None:
    """Release stale budget reservations every `every_s` until `stop` (ledger.budget.sweep)."""
    from ledger.budget import sweep

    log = logging.getLogger("hirebuddha.ledger")
    while not stop.is_set():
        try:
            await sweep()
        except Exception:  # the next round retries; reservations only hold money meanwhile
            log.warning("ledger.sweep failed", exc_info=True)
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            pass


async def _schedule_until(stop: asyncio.Event) -> None:
    """Run the durable scheduler's due jobs (billing: period closing, charges, dunning) until
    `stop`. The ledger process hosts it (docs/billing.md "The scheduler"): it is always
    running, and a hot standby shares the jobs safely (FOR UPDATE SKIP LOCKED)."""
    from billing import charging
    from runtime.scheduler import Runner

    log = logging.getLogger("hirebuddha.ledger")
    charging.register()
    while not stop.is_set():
        try:
            await charging.start()
            break
        except Exception:  # the database is away: try again
            log.warning("billing schedule failed", exc_info=True)
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass
    await Runner().run_until(stop)


async def _verify() -> int:
    from ledger.verify import summary, verify

    await db.open_pool(2)
    try:
        report = await verify()
    finally:
        await db.close_pool()
    print(summary(report), flush=True)
    return 0 if report.ok else 1


def main(argv: list[str]) -> int:
    """Entry point of `hirebuddha ledger ...` (argv = the words after `ledger`)."""
    args = _parser().parse_args(argv)
    configure_logging()
    if args.command == "verify":
        return asyncio.run(_verify())
    _fast_loop()
    return asyncio.run(_consume(args))


def _fast_loop() -> None:
    """uvloop for the consumer, as for the actors (runtime.cli): under a flood about a tenth
    of its CPU was asyncio's own socket writes and selector; plain asyncio where it is not
    installed."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
