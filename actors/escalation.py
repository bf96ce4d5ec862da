"""Escalation: a session asks for a person (docs/human-in-the-loop.md).

Two ways in: the tenant's rules, reviewed after every ended execution of a session
(`review`: a keyword in the user's message, N failed answers in a row, a `sentiment` below a
bound in the agent's structured output), and the agent's own `escalate_to_human {reason}`
tool call (`escalate`). Either way the session becomes `escalated` (the agent keeps answering
until a person takes over), the session's sockets get `session.escalated`, the tenant's inbox
sockets `inbox.changed`, and the tenant's admins and support people an email.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from runtime import branding, db, handover, mail
from runtime.messages import InboxChanged, SessionEscalated
from runtime.publishing import StreamPublisher

log = logging.getLogger("hirebuddha.actors")

TOOL_NAME = "escalate_to_human"
TOOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"reason": {"type": "string", "description": "Why a person should take over."}},
    "required": ["reason"],
}
TOOL_DESCRIPTION = (
    "Hand the conversation over to a person of the support team when you cannot help, the "
    "user asks for a human, or the matter needs a person's judgement."
)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def escalate(
    streams: StreamPublisher, tenant_id: uuid.UUID, session_id: uuid.UUID, reason: str
) -> bool:
    """agent -> escalated, then tell the session, the inbox and the people by email. False
    when the session was escalated or held already (nothing is sent twice)."""
    async with db.scope(tenant_id):
        if not await handover.escalate(tenant_id, session_id, reason):
            return False
        to = await handover.recipients(tenant_id)
        agent = await db.fetchrow(
            "SELECT a.name FROM sessions s JOIN agents a ON a.id = s.agent_id AND a.tenant_id = $2 "
            "WHERE s.id = $1 AND s.tenant_id = $2",
            session_id,
            tenant_id,
        )
    await streams.publish_session(SessionEscalated(session_id=session_id, reason=reason))
    await streams.publish_session(
        InboxChanged(
            tenant_id=tenant_id, session_id=session_id, hand=handover.Hand.ESCALATED.value, reason=reason
        )
    )
    name = agent["name"] if agent is not None else "an agent"
    if to:
        message = mail.Mail(
            to=tuple(to),
            subject=f"A conversation with {name} needs a person",
            text=(
                f"A conversation with {name} was escalated: {reason}\n\n"
                f"Open the Inbox in the console to take it over (session {session_id})."
            ),
        )
        try:
            await branding.send_branded(tenant_id, message)
        except mail.MailError:  # the inbox holds the escalation; the email is a courtesy
            log.warning("escalation mail for session %s not sent", session_id)
    return True


def _reason(rules: Any, row: Any, recent: list[str]) -> str | None:
    """Which rule (if any) the ended execution `row` trips."""
    data = _json(row["input_data"]) or {}
    text = str(data.get("content") or data.get("input") or "").lower()
    for keyword in rules["keywords"] or []:
        if keyword and keyword.lower() in text:
            return f"The user's message mentions “{keyword}”."
    limit = rules["failed_answers"]
    if limit and len(recent) >= limit and all(status == "failed" for status in recent[:limit]):
        return f"The agent failed to answer {limit} times in a row."
    bound = rules["sentiment_below"]
    output = (_json(row["result_data"]) or {}).get("output")
    if bound is not None and isinstance(output, dict):
        sentiment = output.get("sentiment")
        if isinstance(sentiment, int | float) and not isinstance(sentiment, bool) and sentiment < bound:
            return f"The user's sentiment ({sentiment:g}) is below {bound:g}."
    return None


async def review(
    streams: StreamPublisher, execution_id: uuid.UUID, tenant_id: uuid.UUID, session_id: uuid.UUID | None
) -> bool:
    """Apply the tenant's rules to an ended execution of a session; True when it escalated."""
    if session_id is None:
        return False
    async with db.scope(tenant_id):
        rules = await handover.rules(tenant_id)
        if rules is None:
            return False
        row = await db.fetchrow(
            "SELECT e.input_data, e.result_data, s.hand FROM executions e JOIN sessions s "
            "ON s.id = e.session_id AND s.tenant_id = $2 WHERE e.id = $1 AND e.tenant_id = $2 "
            "AND e.status IN ('completed', 'failed', 'cancelled')",
            execution_id,
            tenant_id,
        )
        if row is None or row["hand"] != handover.Hand.AGENT:
            return False
        recent: list[str] = []
        if rules["failed_answers"]:
            rows = await db.fetch(
                "SELECT status FROM executions WHERE session_id = $1 AND tenant_id = $2 "
                "AND status IN ('completed', 'failed') ORDER BY created_at DESC, id DESC LIMIT $3",
                session_id,
                tenant_id,
                rules["failed_answers"],
            )
            recent = [r["status"] for r in rows]
    reason = _reason(rules, row, recent)
    return reason is not None and await escalate(streams, tenant_id, session_id, reason)
