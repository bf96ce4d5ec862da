"""Session and message DTOs."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec


class SessionCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Exactly one of `agent_id` and `workflow_id` (422 otherwise)."""

    agent_id: uuid.UUID | None = None
    workflow_id: uuid.UUID | None = None
    """A session on a workflow: each message starts a run (docs/workflows.md "Chat")."""
    title: str | None = None


class SessionOut(msgspec.Struct):
    id: uuid.UUID
    agent_id: uuid.UUID | None
    user_id: uuid.UUID | None
    title: str | None
    created_at: dt.datetime
    workflow_id: uuid.UUID | None = None
    hand: str = "agent"
    """Who answers: `agent`, `escalated` (a person is asked for) or `human` (a person holds it)."""


class MessageOut(msgspec.Struct):
    id: uuid.UUID
    role: str
    """user | assistant | human (a person of the tenant, docs/human-in-the-loop.md)"""
    content: str
    execution_id: uuid.UUID | None
    created_at: dt.datetime
