"""Execution DTOs (CONTRACT.md "Executions")."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec

Input = Annotated[str, msgspec.Meta(min_length=1, max_length=100_000, pattern=r"^[^\x00]*$")]


class ExecutionCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Run an agent in the background on one input."""

    agent_id: uuid.UUID
    input: Input


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
