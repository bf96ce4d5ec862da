"""`hirebuddha mailcatcher [--host 127.0.0.1] [--port 1025]`: the development mail catcher.

An SMTP server (aiosmtpd) that accepts every message and delivers none: it stores each one in
the `dev_mailbox` table, keeping the newest `KEEP`, where the app admin's console shows them
(`GET /api/v1/admin/billing/mailbox`). `hirebuddha up` runs it when `HB_SMTP_URL` is not set,
so no mail leaves a development machine.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller

from runtime import db

KEEP = 200


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return str(part.get_content()) if part is not None else ""


class Catcher:
    """aiosmtpd handler: each message becomes a dev_mailbox row."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        raw = envelope.original_content or envelope.content
        message = BytesParser(policy=policy.default).parsebytes(raw)
        row = (
            str(envelope.mail_from or ""),
            ", ".join(envelope.rcpt_tos),
            str(message["Subject"] or ""),
            _text(message),
        )
        # aiosmtpd runs its own loop in a thread; the pool belongs to the main loop.
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(store(*row), self.loop))
        return "250 OK"


async def store(mail_from: str, rcpt_to: str, subject: str, body: str) -> None:
    async with db.scope(system=True):
        await db.execute(
            "INSERT INTO dev_mailbox (id, mail_from, rcpt_to, subject, body) VALUES ($1, $2, $3, $4, $5)",
            uuid.uuid4(),
            mail_from,
            rcpt_to,
            subject,
            body,
        )
        await db.execute(
            "DELETE FROM dev_mailbox WHERE id NOT IN "
            "(SELECT id FROM dev_mailbox ORDER BY received_at DESC LIMIT $1)",
            KEEP,
        )


async def _serve(host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await db.open_pool(2)
    controller = Controller(Catcher(loop), hostname=host, port=port)
    controller.start()
    print(f"mail catcher listening on smtp://{host}:{port}", flush=True)
    try:
        await stop.wait()
    finally:
        controller.stop()
        await db.close_pool()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hirebuddha mailcatcher", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.host, args.port))
    return 0
