"""Replies through Telegram and WhatsApp, consumed from the durable channel replies queue.

When a turn that came in through a channel ends, `runtime.executions.announce_end` queues a
`ChannelReplyRequested`; this consumer sends the reply (split as the channel requires) to
the chat the session belongs to, retrying each part with backoff (runtime.channels). Each
part sent is written to `channel_deliveries` first thing after the API took it, so a
redelivered request (a crash, a broker restart) sends only the parts still missing. The
message is acked once every part went out or the API refused for good (logged).
"""

from __future__ import annotations

import logging
from typing import Any

import aio_pika
import msgspec

from actors.webhooks import consume_delivery
from runtime import channels, db
from runtime.executions import ExecutionStatus
from runtime.messages import ChannelReplyRequested

log = logging.getLogger("hirebuddha.actors")

FAILED_REPLY = "Sorry, I could not answer that just now. Please try again in a moment."
"""What the chat gets when the turn failed (the reason stays in the execution's record)."""

_TARGET = """
SELECT e.status, e.result_data, c.id AS channel_id, c.kind, c.credentials, c.phone_number_id,
       s.external_id,
       COALESCE(ARRAY(SELECT d.part FROM channel_deliveries d
                      WHERE d.execution_id = e.id AND d.tenant_id = e.tenant_id), '{}') AS sent
FROM executions e
JOIN channel_sessions s ON s.session_id = e.session_id AND s.tenant_id = e.tenant_id
JOIN channels c ON c.id = s.channel_id AND c.tenant_id = e.tenant_id
WHERE e.id = $1 AND e.tenant_id = $2 AND e.status IN ('completed', 'failed')
"""


def reply_text(row: Any) -> str:
    """The text to send: the reply of a completed turn, an apology for a failed one."""
    if row["status"] != ExecutionStatus.COMPLETED:
        return FAILED_REPLY
    data = row["result_data"]
    data = msgspec.json.decode(data) if isinstance(data, str) else data or {}
    output = data.get("output")
    return str(data.get("text") or (output if isinstance(output, str) else "") or "")


async def deliver(request: ChannelReplyRequested) -> bool:
    """Send the reply of one execution; False when the channel's API refused it."""
    async with db.scope(request.tenant_id):
        row = await db.fetchrow(_TARGET, request.execution_id, request.tenant_id)
    if row is None:  # cancelled, not a channel session any more, or the channel was removed
        return True
    text = reply_text(row)
    if not text.strip():
        return True

    async def sent(part: int, status: int | None) -> None:
        async with db.scope(request.tenant_id):
            await db.execute(
                "INSERT INTO channel_deliveries (execution_id, part, tenant_id, channel_id, status_code) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                request.execution_id,
                part,
                request.tenant_id,
                row["channel_id"],
                status,
            )

    credentials = channels.unseal(row["credentials"])
    address, chat = row["phone_number_id"] or "", row["external_id"]
    return await channels.send_reply(row["kind"], credentials, address, chat, text, set(row["sent"]), sent)


async def on_channel_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
    """Consume one `ChannelReplyRequested` (actors.webhooks.consume_delivery)."""
    await consume_delivery(message, ChannelReplyRequested, deliver, "channel reply")


__all__ = ["deliver", "on_channel_reply"]
