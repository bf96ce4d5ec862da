"""`mailbox`: a real SMTP server (aiosmtpd) for the whole run, on the port conftest put in
`HB_SMTP_URL`, so every process the suite starts delivers its mail here.

A test reads what arrived with `await mailbox.wait_for(to=..., subject=...)`; messages are
parsed `EmailMessage`s. Nothing is mocked: the sender speaks SMTP over loopback.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller

from conftest import SMTP_PORT
from helpers.eventually import eventually


class Mailbox:
    """Every message the server accepted, in order of arrival."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content)
        with self._lock:
            self._messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def messages(self, to: str | None = None, subject: str | None = None) -> list[EmailMessage]:
        """Messages to `to` (an address in To) whose subject contains `subject`."""
        with self._lock:
            found = list(self._messages)
        if to is not None:
            found = [m for m in found if to.lower() in str(m["To"]).lower()]
        if subject is not None:
            found = [m for m in found if subject.lower() in str(m["Subject"]).lower()]
        return found

    async def wait_for(
        self, to: str | None = None, subject: str | None = None, count: int = 1, timeout: float = 20
    ) -> list[EmailMessage]:
        """At least `count` such messages, waiting up to `timeout` seconds."""
        return await eventually(
            lambda: self.messages(to, subject),
            lambda found: len(found) >= count,
            f"{count} mail(s) to {to!r} with {subject!r} in the subject",
            timeout=timeout,
        )


def body(message: EmailMessage) -> str:
    """The plain-text body of a message."""
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
