"""Outgoing mail: the one sender every feature uses (billing, invitations, resets,
escalations). docs/operations.md "Mail".

`send()` delivers one message over SMTP (`HB_SMTP_URL`) and raises `MailError` when the server
refuses it or cannot be reached: a caller that must not lose a message sends it from a durable
job and retries on that error.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import msgspec

from runtime.settings import get_settings

log = logging.getLogger("hirebuddha.mail")


class MailError(RuntimeError):
    """The SMTP server refused the message or could not be reached."""


class Mail(msgspec.Struct, frozen=True, kw_only=True):
    """One message. `html`, when given, is the alternative part beside `text`."""

    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None
    sender: str | None = None
    """Overrides `HB_MAIL_FROM` (a partner's branded sender)."""
    headers: dict[str, str] = msgspec.field(default_factory=dict)


class _Server(msgspec.Struct, frozen=True):
    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool


def _server(url: str) -> _Server:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailError(f"HB_SMTP_URL must be smtp://host:port or smtps://host:port, not {parts.scheme!r}")
    query = parse_qs(parts.query)
    return _Server(
        host=parts.hostname,
        port=parts.port or (465 if parts.scheme == "smtps" else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=parts.scheme == "smtps",
        start_tls=query.get("starttls", ["0"])[0] == "1",
    )


def build(mail: Mail) -> EmailMessage:
    """The MIME message `send` delivers."""
    settings = get_settings().mail
    message = EmailMessage()
    message["From"] = mail.sender or settings.sender
    message["To"] = ", ".join(mail.to)
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain="hirebuddha.local")
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    return message


async def send(mail: Mail, wait_s: float = 10) -> None:
    """Deliver `mail`; `MailError` when it was not accepted."""
    if not mail.to:
        raise MailError("a message needs at least one recipient")
    server = _server(get_settings().mail.smtp_url)
    try:
        await aiosmtplib.send(
            build(mail),
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.use_tls,
            start_tls=server.start_tls,
            timeout=wait_s,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        # The recipients are personal data and the URL may hold a password: neither is logged.
        log.warning("mail not sent: %s", type(exc).__name__)
        raise MailError(f"the SMTP server did not accept the message: {type(exc).__name__}") from exc
