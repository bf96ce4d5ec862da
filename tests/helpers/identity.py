"""Reading the links identity mails (tests/test_identity*.py); no fixtures, plain helpers."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from helpers.smtp import Mailbox, body

_LINK = re.compile(r"https?://\S+\?token=\S+")


async def mailed_link(mailbox: Mailbox, to: str, subject: str, count: int = 1) -> tuple[str, str]:
    """The console path and token of the `count`-th link mailed to `to` about `subject`."""
    messages = await mailbox.wait_for(to=to, subject=subject, count=count)
    found = _LINK.search(body(messages[count - 1]))
    assert found, f"no link in the mail to {to}: {body(messages[count - 1])!r}"
    parts = urlsplit(found.group(0))
    return parts.path, parse_qs(parts.query)["token"][0]
