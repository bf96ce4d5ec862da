"""Signed webhook deliveries, consumed from the durable webhooks queue.

Why a queue in the actors process and not a task in whichever process saw the end: the
`WebhookRequested` message stays unacked until the delivery succeeded or gave up, so a
restart (deploy, crash) redelivers it and the retries go on in another process; attempt
numbers continue from the `webhook_deliveries` log. Each attempt is logged there, which
`GET /executions/{id}` shows as `webhooks`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aio_pika
import msgspec

from actors import store
from runtime import crypto
from runtime.executions import job_result
from runtime.messages import WebhookRequested, decode, encode
from runtime.webhooks import Attempt, deliver

log = logging.getLogger("hirebuddha.actors")

T = TypeVar("T")

ATTEMPTS = 6
BASE_DELAY_S = 1.0
"""Delays between attempts: 1, 2, 4, 8, 16 s (runtime.webhooks.deliver)."""


async def tenant_secret(tenant_id: object) -> str:
    """The tenant's webhook secret in clear, created on first use."""
    stored = await store.webhook_secret(tenant_id, crypto.encrypt(new_webhook_secret()))  # type: ignore[arg-type]
    return crypto.decrypt(stored)


def new_webhook_secret() -> str:
    """A fresh signing secret (`whsec_` + 32 random bytes, URL-safe)."""
    return "whsec_" + secrets.token_urlsafe(32)


async def deliver_one(request: WebhookRequested) -> bool:
    """POST the execution's result (a `JobResult`), signed, retrying with backoff."""
    row = await store.ended(request.execution_id, request.tenant_id)
    if row is None:
        log.warning("webhook for %s: execution not ended or gone", request.execution_id)
        return False
    body = encode(job_result(row))
    secret = await tenant_secret(request.tenant_id)

    async def logged(attempt: Attempt) -> None:
        await store.record_webhook_attempt(
            request.tenant_id, request.execution_id, request.url, attempt.status_code, attempt.error
        )

    return await deliver(request.url, body, secret, logged, attempts=ATTEMPTS, base_delay_s=BASE_DELAY_S)


async def consume_delivery(
    message: aio_pika.abc.AbstractIncomingMessage,
    kind: type[T],
    deliver: Callable[[T], Awaitable[bool]],
    what: str,
) -> None:
    """Decode one outbound delivery request and run it: ack once delivered or given up (both
    logged), nack (redelivered, bounded by the queue's delivery limit) when it raised,
    reject (dead-lettered) when it is malformed. Webhooks and channel replies share it."""
    try:
        request = decode(message.body, kind)
    except (msgspec.DecodeError, msgspec.ValidationError):
        log.error("dropping a malformed %s request to the dead letters", what)
        await message.reject(requeue=False)  # the queue dead-letters it (x-death)
        return
    execution_id = getattr(request, "execution_id", None)
    try:
        delivered = await deliver(request)
    except Exception:
        log.exception("%s for %s failed; it will be retried", what, execution_id)
        await message.nack(requeue=True)  # bounded by the queue's delivery limit
        return
    if not delivered:
        log.warning("%s for %s gave up", what, execution_id)
    await message.ack()


async def on_webhook(message: aio_pika.abc.AbstractIncomingMessage) -> None:
    """Consume one `WebhookRequested` (after ATTEMPTS attempts it gives up)."""
    await consume_delivery(message, WebhookRequested, deliver_one, "webhook")
