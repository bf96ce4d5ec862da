"""`/admin/dead-letters`: what no consumer could process, why, and a button to re-drive it."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import msgspec
from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import Provide

from runtime.crypto import redact
from web.admin.deps import provide_admin_service
from web.admin.service import AdminService
from web.auth.guards import requires_app_admin

PREVIEW = 2000


class DeadLetterOut(msgspec.Struct):
    id: uuid.UUID
    reason: str
    source_exchange: str
    routing_key: str
    tenant_id: uuid.UUID | None
    correlation_id: str | None
    content_type: str | None
    body_preview: str
    headers: dict[str, Any]
    retry_count: int
    retried_at: dt.datetime | None
    created_at: dt.datetime


SECRET_HEADERS = frozenset({"x-api-key", "authorization"})


def _masked(headers: dict[str, Any]) -> dict[str, Any]:
    """Headers as shown to the admin: credentials kept for re-drive, never displayed."""
    return {k: (redact(str(v)) if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def _out(row: dict[str, Any]) -> DeadLetterOut:
    body = bytes(row["body"] or b"")
    headers = row["headers"]
    return DeadLetterOut(
        id=row["id"],
        reason=row["reason"],
        source_exchange=row["source_exchange"],
        routing_key=row["routing_key"],
        tenant_id=row["tenant_id"],
        correlation_id=row["correlation_id"],
        content_type=row["content_type"],
        body_preview=body[:PREVIEW].decode("utf-8", "replace"),
        headers=_masked(json.loads(headers) if isinstance(headers, str) else headers or {}),
        retry_count=row["retry_count"],
        retried_at=row["retried_at"],
        created_at=row["created_at"],
    )


class DeadLetterController(Controller):
    """Dead letters of every queue, newest first."""

    path = "/admin/dead-letters"
    guards = [requires_app_admin]
    dependencies = {"admin_service": Provide(provide_admin_service)}
    tags = ["admin"]

    @get("/")
    async def list_dead_letters(self, admin_service: AdminService, limit: int = 100) -> list[DeadLetterOut]:
        """The newest dead letters (at most `limit`, up to 500)."""
        return [_out(r) for r in await admin_service.dead_letters(limit)]

    @post("/{dead_letter_id:uuid}/retry", status_code=202)
    async def retry_dead_letter(
        self, admin_service: AdminService, state: State, dead_letter_id: uuid.UUID
    ) -> DeadLetterOut:
        """Publish it again to where it first went (fix the cause first)."""
        channel = await state.bus.broker.config.channel_manager.get_channel()
        return _out(await admin_service.redrive(channel, dead_letter_id))
