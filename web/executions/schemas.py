"""Execution DTOs (docs/contract.md "REST")."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec

Input = Annotated[str, msgspec.Meta(min_length=1, max_length=100_000, pattern=r"^[^\x00]*$")]


WebhookUrl = Annotated[str, msgspec.Meta(max_length=2000, pattern=r"^https?://[^\s]+$")]


class ExecutionCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Run an agent in the background on one input."""

    agent_id: uuid.UUID
    input: Input
    webhook_url: WebhookUrl | None = None
    """POSTed the result (signed, `Hirebuddha-Signature`) when the execution ends."""


class WebhookAttemptOut(msgspec.Struct):
    """One webhook delivery attempt of an execution."""

    attempt: int
    url: str
    status_code: int | None
    error: str | None
    created_at: dt.datetime


class ExecutionAccepted(msgspec.Struct):
    """The answer of POST /executions (202) and of a cancel."""

    id: uuid.UUID
    status: str


class ExecutionOut(msgspec.Struct):
    """An execution and, once it has ended, its result.

    `result_data` is `{text, seq_ends, output?, error_code?}`: `text` the reply, `output`
    the validated JSON of an agent with an output schema.
    """

    id: uuid.UUID
    status: str
    result_data: dict[str, Any] | None
    error_message: str | None
    usage: dict[str, Any] | None
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    agent_id: uuid.UUID | None
    session_id: uuid.UUID | None
    source: str
    attempt: int
    created_at: dt.datetime
    webhooks: list[WebhookAttemptOut] = msgspec.field(default_factory=list)
    """Webhook delivery attempts, oldest first (only on GET /executions/{id})."""
