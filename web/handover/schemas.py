"""Human-in-the-loop DTOs: takeover, hold state, inbox rows, escalation rules."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec


class TakeoverIn(msgspec.Struct, forbid_unknown_fields=True):
    on_running: Literal["cancel", "finish"] = "cancel"
    """What happens to the agent's reply in progress: `cancel` it now (billed for what it
    produced) or let it `finish`."""


class HoldOut(msgspec.Struct):
    session_id: uuid.UUID
    hand: str
    held_by: uuid.UUID | None
    holder_name: str | None
    cancelled: list[uuid.UUID] = msgspec.field(default_factory=list)
    """Executions of the session the takeover cancelled."""


class InboxItem(msgspec.Struct):
    session_id: uuid.UUID
    agent_id: uuid.UUID
    agent_name: str
    user_id: uuid.UUID | None
    user_name: str | None
    title: str | None
    hand: str
    held_by: uuid.UUID | None
    holder_name: str | None
    held_since: dt.datetime | None
    escalated_at: dt.datetime | None
    escalation_reason: str | None
    last_message: str | None
    updated_at: dt.datetime


Keyword = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]


class EscalationRules(msgspec.Struct, forbid_unknown_fields=True):
    keywords: Annotated[list[Keyword], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)
    """A user message containing one of these (case-insensitive) escalates the session."""
    failed_answers: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None
    """Escalate after this many failed replies in a row (`execution.failed`)."""
    sentiment_below: Annotated[float, msgspec.Meta(ge=-1, le=1)] | None = None
    """Escalate when the agent's structured output has a number `sentiment` below this."""
    agent_tool: bool = False
    """Offer the agents of session chats the `escalate_to_human {reason}` tool."""
