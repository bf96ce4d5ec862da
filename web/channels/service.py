"""Messaging channels: a tenant admin connects a Telegram bot or a WhatsApp Business number
to an agent; their webhooks turn each inbound text into a turn of the chat's session.

Inbound (`InboundService`, no caller: the channel id in the URL plus the provider's proof):
- Telegram: `X-Telegram-Bot-Api-Secret-Token` must equal the channel's secret token (we
  generate it; it is given to setWebhook);
- WhatsApp: `X-Hub-Signature-256` must be `sha256=` + HMAC-SHA256(app secret, raw body);
  the GET subscription check must bring the channel's verify token.
A forged request is refused 401 `channel_signature_invalid` (403 `channel_verify_failed`
for the GET). Each text message becomes a `Submission` of source `telegram`/`whatsapp` in
the session of its chat (web.channels.conversations), with the update / message id as its
`client_id`: admission's idempotent send processes a replayed update once. The reply goes
back when the turn ends (runtime.executions.announce_end -> actors.channels).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from litestar.exceptions import NotFoundException

from runtime import channels, db
from runtime.errors import CodedError
from runtime.executions import Submission
from web import audit
from web.agents import repository as agents
from web.auth.identity import Principal
from web.channels import conversations
from web.channels import repository as repo
from web.chat.protocol import MAX_CONTENT_CHARS
from web.executions import bus as execution_bus
from web.executions.bus import Bus
from web.executions.service import Rejected

log = logging.getLogger("hirebuddha.web")


class ChannelRefused(CodedError):
    """A webhook call we refuse (forged, unknown channel)."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(code, message, status)


def webhook_path(kind: str, channel_id: uuid.UUID) -> str:
    """Where the provider posts: the URL to paste is the platform's origin + this."""
    return f"/api/v1/channels/{channel_id}/{kind}"


def _credentials(values: dict[str, Any]) -> channels.Credentials:
    if values["kind"] == channels.TELEGRAM:
        if not values.get("bot_token"):
            raise Rejected("validation_error", "A Telegram channel needs `bot_token`.", 400)
        return channels.Credentials(bot_token=values["bot_token"], secret_token=secrets.token_urlsafe(32))
    missing = [k for k in ("phone_number_id", "access_token", "app_secret") if not values.get(k)]
    if missing:
        raise Rejected("validation_error", f"A WhatsApp channel needs {', '.join(missing)}.", 400)
    return channels.Credentials(
        access_token=values["access_token"],
        app_secret=values["app_secret"],
        verify_token=secrets.token_urlsafe(24),
    )


def out(row: Any) -> dict[str, Any]:
    return {**dict(row), "webhook_path": webhook_path(row["kind"], row["id"])}


class ChannelService:
    """A tenant admin's channels; every query in the tenant's scope, filtered by it."""

    def __init__(self, me: Principal, ip: str | None = None) -> None:
        self.me, self.tenant_id, self.ip = me, me.tenant_id, ip

    async def _audit(self, action: str, channel_id: uuid.UUID, **details: Any) -> None:
        await audit.record(
            action,
            tenant_id=self.tenant_id,
            actor_id=self.me.id,
            target_type="channel",
            target_id=channel_id,
            ip=self.ip,
            **details,
        )

    async def create(self, values: dict[str, Any]) -> dict[str, Any]:
        """Store the channel with its credentials encrypted; the tokens we made, once."""
        credentials = _credentials(values)
        async with db.scope(self.tenant_id):
            if not await agents.exists(self.tenant_id, values["agent_id"]):
                raise NotFoundException("Agent not found.")
            row = await repo.insert(self.tenant_id, values, channels.seal(credentials))
            await self._audit("channel.create", row["id"], kind=values["kind"])
        return {
            **out(row),
            "secret_token": credentials.secret_token,
            "verify_token": credentials.verify_token,
        }

    async def listing(self) -> list[dict[str, Any]]:
        async with db.scope(self.tenant_id):
            rows: Sequence[Any] = await repo.listing(self.tenant_id)
        return [out(r) for r in rows]

    async def delete(self, channel_id: uuid.UUID) -> None:
        async with db.scope(self.tenant_id):
            if not await repo.delete(self.tenant_id, channel_id):
                raise NotFoundException("Channel not found.")
            await self._audit("channel.delete", channel_id)


# --- inbound (no caller) -----------------------------------------------------------------


async def _channel(channel_id: uuid.UUID, kind: str) -> tuple[Any, channels.Credentials]:
    async with db.scope(system=True):  # a webhook names only the channel id, not a tenant
        row = await repo.active(channel_id, kind)
    if row is None:
        raise ChannelRefused("not_found", "No such channel.", 404)
    return row, channels.unseal(row["credentials"])


def _same(given: str | None, expected: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))


async def verify_telegram(channel_id: uuid.UUID, secret: str | None) -> Any:
    """The channel, when the request carries its secret token."""
    row, credentials = await _channel(channel_id, channels.TELEGRAM)
    if not _same(secret, credentials.secret_token):
        raise ChannelRefused("channel_signature_invalid", "The secret token does not match.", 401)
    return row


async def verify_whatsapp(channel_id: uuid.UUID, body: bytes, signature: str | None) -> Any:
    """The channel, when the body is signed with its app secret."""
    row, credentials = await _channel(channel_id, channels.WHATSAPP)
    key = (credentials.app_secret or "").encode()
    expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    if not key or not _same(signature, expected):
        raise ChannelRefused("channel_signature_invalid", "X-Hub-Signature-256 does not sign this body.", 401)
    return row


async def whatsapp_challenge(
    channel_id: uuid.UUID, mode: str | None, token: str | None, challenge: str
) -> str:
    """Meta's subscription check: echo the challenge when the verify token is ours."""
    _, credentials = await _channel(channel_id, channels.WHATSAPP)
    if mode != "subscribe" or not _same(token, credentials.verify_token):
        raise ChannelRefused("channel_verify_failed", "Wrong hub.mode or hub.verify_token.", 403)
    return challenge


def _client_id(dedupe: str) -> str:
    """The update's id as admission's `client_id` (at most 64 characters)."""
    return dedupe if len(dedupe) <= 64 else dedupe[:3] + hashlib.sha256(dedupe.encode()).hexdigest()


async def receive(bus: Bus, channel: Any, body: bytes) -> dict[str, int]:
    """Each text message of the payload becomes a turn; counts of what happened."""
    try:
        payload = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise ChannelRefused("bad_json", "The body is not valid JSON.", 400) from exc
    counts = {"accepted": 0, "duplicates": 0, "refused": 0}
    for dedupe, chat_id, name, message in channels.inbound_text(channel["kind"], payload):
        # PostgreSQL text holds no NUL; ids longer than the column are not a chat's.
        text, sender = message.replace("\x00", ""), name.replace("\x00", "")[:100]
        if not chat_id or len(chat_id) > 128 or "\x00" in chat_id or not text.strip():
            counts["refused"] += 1
            continue
        session_id = await conversations.session_for(
            channel["tenant_id"],
            channel["agent_id"],
            channel["kind"],
            channel["id"],
            chat_id,
            f"{channel['name']} · {sender}",
        )
        visitor = conversations.visitor_id(channel["id"], chat_id)
        me = conversations.visitor_principal(channel["tenant_id"], channel["partner_id"], visitor)
        sub = Submission(
            channel["agent_id"],
            text[:MAX_CONTENT_CHARS],
            source=channel["kind"],
            session_id=session_id,
            client_id=_client_id(dedupe),
        )
        try:
            sent = await execution_bus.dispatch(bus, me, sub)
        except Rejected as exc:  # budget, suspended, busy: answered 200 so the provider stops retrying
            log.warning("channel %s turn refused: %s", channel["id"], exc.code)
            counts["refused"] += 1
            continue
        counts["duplicates" if sent.duplicate else "accepted"] += 1
    return counts
