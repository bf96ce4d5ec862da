"""runtime/mail.py over real SMTP: what a feature sends arrives whole; a server that is not
there is a MailError, not a hang or a silent loss."""

from __future__ import annotations

import msgspec
import pytest

from conftest import free_port
from helpers.smtp import Mailbox, body
from runtime import mail
from runtime.settings import get_settings


async def test_a_message_arrives_with_its_text_and_html_parts(mailbox: Mailbox) -> None:
    await mail.send(
        mail.Mail(
            to=("ada@example.test",),
            subject="Your invoice HB-2026-000001",
            text="Total due: 12.34 EUR",
            html="<p>Total due: <b>12.34 EUR</b></p>",
            reply_to="billing@example.test",
        )
    )
    (message,) = await mailbox.wait_for(to="ada@example.test", subject="HB-2026-000001")
    assert body(message).strip() == "Total due: 12.34 EUR"
    html = message.get_body(preferencelist=("html",))
    assert html is not None and html.get_content().strip() == "<p>Total due: <b>12.34 EUR</b></p>"
    assert str(message["From"]) == get_settings().mail.sender
    assert str(message["Reply-To"]) == "billing@example.test"


async def test_an_unreachable_server_is_a_mail_error(monkeypatch: pytest.MonkeyPatch) -> None:
    here = get_settings()
    elsewhere = msgspec.structs.replace(
        here, mail=msgspec.structs.replace(here.mail, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    )
    monkeypatch.setattr(mail, "get_settings", lambda: elsewhere)  # settings as HB_SMTP_URL would give
    with pytest.raises(mail.MailError, match="did not accept"):
        await mail.send(mail.Mail(to=("nobody@example.test",), subject="s", text="t"), wait_s=3)


async def test_a_message_without_recipients_is_refused_before_connecting() -> None:
    with pytest.raises(mail.MailError, match="recipient"):
        await mail.send(mail.Mail(to=(), subject="s", text="t"))
