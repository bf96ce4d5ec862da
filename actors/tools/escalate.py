"""`escalate_to_human {reason}`: the agent hands the conversation to a person
(docs/human-in-the-loop.md). Offered in session chats of tenants whose escalation rules turn
it on (`escalation_rules.agent_tool`)."""

from __future__ import annotations

from typing import Any

from actors import escalation
from actors.tools import ToolContext, ToolError, ToolOutput, register
from runtime import db, handover


class EscalateToHuman:
    """Marks the session escalated: the inbox lists it and the tenant's people get an email."""

    name = escalation.TOOL_NAME
    description = escalation.TOOL_DESCRIPTION
    parameters: dict[str, Any] = escalation.TOOL_SCHEMA

    async def available(self, context: ToolContext) -> bool:
        """Session chats of tenants that turned the tool on."""
        if context.session_id is None or context.streams is None:
            return False
        if context.facts is not None:
            return context.facts.agent_tool
        async with db.scope(context.tenant_id):
            rules = await handover.rules(context.tenant_id)
        return bool(rules is not None and rules["agent_tool"])

    async def run(self, context: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        """Escalate the session with the model's reason."""
        reason = arguments.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ToolError("`reason` must be a non-empty string.")
        assert context.session_id is not None and context.streams is not None  # `available`
        done = await escalation.escalate(
            context.streams, context.tenant_id, context.session_id, reason.strip()
        )
        if not done:
            return ToolOutput(
                content="A person has already been asked to join this conversation.",
                summary="already escalated",
            )
        return ToolOutput(
            content="A person from the support team has been asked to join. Tell the user so.",
            summary=f"handed to a person: {reason.strip()[:200]}",
        )


register(EscalateToHuman())
