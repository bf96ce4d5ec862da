"""Request and response Structs of messaging channels."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

Secret = Annotated[str, msgspec.Meta(min_length=8, max_length=1000, pattern=r"^[^\s\x00]+$")]


class ChannelIn(msgspec.Struct, forbid_unknown_fields=True):
    """Connect a Telegram bot (`bot_token`) or a WhatsApp Business number
    (`phone_number_id`, `access_token`, `app_secret`) to an agent."""

    kind: Literal["telegram", "whatsapp"]
    agent_id: uuid.UUID
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
    bot_token: (
        Annotated[str, msgspec.Meta(max_length=200, pattern=r"^[0-9]{3,20}:[A-Za-z0-9_-]{20,100}$")] | None
    ) = None
    phone_number_id: Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[0-9]{3,64}$")] | None = None
    access_token: Secret | None = None
    app_secret: Secret | None = None


class ChannelOut(msgspec.Struct):
    """A channel; its credentials are never returned."""

    id: uuid.UUID
    kind: str
    agent_id: uuid.UUID
    name: str
    phone_number_id: str | None
    webhook_path: str
    is_active: bool
    created_at: dt.datetime


class ChannelCreated(ChannelOut):
    """A new channel with what its provider needs, shown once: Telegram's `secret_token`
    (for setWebhook) or WhatsApp's `verify_token` (for the webhook subscription)."""

    secret_token: str | None = None
    verify_token: str | None = None
