"""Telegram and WhatsApp: their credentials, their message limits, sending a reply.

Inbound webhooks are verified and turned into session turns by the web process
(web/channels); when such a turn ends, `runtime.executions.announce_end` queues a
`ChannelReplyRequested` and an actors process sends the reply with `send_reply` (actors
/channels.py). Both APIs' base URLs are settings (`HB_TELEGRAM_API_URL`,
`HB_WHATSAPP_API_URL`) and every connection passes the URL guard (runtime/urlguard.py).
docs/channels.md.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import msgspec

from runtime import crypto
from runtime.settings import get_settings
from runtime.urlguard import UnsafeUrl, guarded_transport

TELEGRAM = "telegram"
WHATSAPP = "whatsapp"
MAX_CHARS = {TELEGRAM: 4096, WHATSAPP: 4096}
"""Longest text of one message: Telegram's sendMessage and WhatsApp's text body both take
4096 characters; longer replies are sent as several messages (`split`)."""
ATTEMPTS = 5
BASE_DELAY_S = 0.5
"""Delays between attempts of one part: 0.5, 1, 2, 4 s; a 4xx other than 429 is final."""


class Credentials(msgspec.Struct, frozen=True, kw_only=True):
    """What a channel needs, stored Fernet-encrypted as one JSON object (never returned).

    Telegram: `bot_token` (from @BotFather) and `secret_token` (ours, given to Telegram's
    setWebhook and sent back in `X-Telegram-Bot-Api-Secret-Token`). WhatsApp: `access_token`
    (Cloud API), `app_secret` (signs `X-Hub-Signature-256`) and `verify_token` (ours, for
    the GET subscription challenge)."""

    bot_token: str | None = None
    secret_token: str | None = None
    access_token: str | None = None
    app_secret: str | None = None
    verify_token: str | None = None


def seal(credentials: Credentials) -> str:
    """The stored form of credentials."""
    return crypto.encrypt(msgspec.json.encode(credentials).decode())


def unseal(stored: str) -> Credentials:
    """Credentials from their stored form (only in the process about to use them)."""
    return msgspec.json.decode(crypto.decrypt(stored), type=Credentials)


def split(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit` characters, cut at a paragraph, line or word
    boundary when one is in the second half of the part, else hard."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def request_of(
    kind: str, credentials: Credentials, address: str, chat_id: str, text: str
) -> tuple[str, dict, dict]:
    """(url, headers, JSON body) of sending `text` to `chat_id`; `address` is WhatsApp's
    phone number id (unused for Telegram)."""
    settings = get_settings().channels
    if kind == TELEGRAM:
        url = f"{settings.telegram_api_url.rstrip('/')}/bot{credentials.bot_token}/sendMessage"
        return url, {}, {"chat_id": chat_id, "text": text}
    url = f"{settings.whatsapp_api_url.rstrip('/')}/{address}/messages"
    headers = {"authorization": f"Bearer {credentials.access_token}"}
    body = {"messaging_product": "whatsapp", "to": chat_id, "type": "text", "text": {"body": text}}
    return url, headers, body


async def send_part(
    client: httpx.AsyncClient, url: str, headers: dict, body: dict, *, attempts: int = ATTEMPTS
) -> int | None:
    """POST one message until a 2xx, a final refusal (4xx but 429) or `attempts` are spent;
    the last status (None: never answered). The URL guard's refusal is final."""
    status: int | None = None
    for number in range(1, attempts + 1):
        try:
            response = await client.post(
                url, content=json.dumps(body), headers={**headers, "content-type": "application/json"}
            )
            status = response.status_code
            if 200 <= status < 300 or (400 <= status < 500 and status != 429):
                return status
        except UnsafeUrl:
            return None
        except httpx.HTTPError as exc:
            if isinstance(exc.__cause__, UnsafeUrl) or isinstance(exc.__context__, UnsafeUrl):
                return None
        if number < attempts:
            await asyncio.sleep(BASE_DELAY_S * 2 ** (number - 1))
    return status


async def send_reply(
    kind: str,
    credentials: Credentials,
    address: str,
    chat_id: str,
    text: str,
    already_sent: set[int],
    on_sent: Callable[[int, int | None], Awaitable[None]],
) -> bool:
    """Send `text` in parts (`split`), skipping the parts in `already_sent` (an earlier
    delivery sent them) and reporting each part sent to `on_sent(part, status)`; True when
    every part went out."""
    parts = split(text, MAX_CHARS[kind])
    async with httpx.AsyncClient(timeout=15, follow_redirects=False, transport=guarded_transport()) as client:
        for number, part in enumerate(parts):
            if number in already_sent:
                continue
            url, headers, body = request_of(kind, credentials, address, chat_id, part)
            status = await send_part(client, url, headers, body)
            if status is None or not 200 <= status < 300:
                return False
            await on_sent(number, status)
    return True


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def inbound_text(kind: str, payload: Any) -> list[tuple[str, str, str, str]]:
    """(dedupe id, chat id, sender name, text) of each text message in a webhook payload;
    other updates (edits, statuses, media) and malformed parts give nothing."""
    found: list[tuple[str, str, str, str]] = []
    body = _dict(payload)
    if kind == TELEGRAM:
        message = _dict(body.get("message"))
        text, update = message.get("text"), body.get("update_id")
        chat_id = _dict(message.get("chat")).get("id")
        if isinstance(text, str) and isinstance(update, int) and isinstance(chat_id, int | str):
            sender = _dict(message.get("from"))
            name = sender.get("username") or sender.get("first_name") or chat_id
            found.append((f"tg:{update}", str(chat_id), str(name), text))
        return found
    for entry in _list(body.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            value = _dict(_dict(change).get("value"))
            names = {
                _dict(c).get("wa_id"): _dict(_dict(c).get("profile")).get("name")
                for c in _list(value.get("contacts"))
            }
            for item in map(_dict, _list(value.get("messages"))):
                text = _dict(item.get("text")).get("body")
                wa_id, item_id = item.get("from"), item.get("id")
                if (
                    item.get("type") == "text"
                    and isinstance(text, str)
                    and isinstance(wa_id, str)
                    and item_id
                ):
                    found.append((f"wa:{item_id}", wa_id, str(names.get(wa_id) or wa_id), text))
    return found
