"""Human in the loop for one caller: take over, hand back, write as a person, the inbox,
escalation rules (docs/human-in-the-loop.md). The hand state itself is `runtime.handover`.

Every change is published over RabbitMQ after its commit: the session's sockets on every web
process get `human.joined` / `human.left` / `message`, the tenant's inbox sockets get
`inbox.changed`. Nothing polls.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from runtime import db, handover
from runtime.errors import CodedError
from runtime.executions import HUMAN_ROLE
from runtime.handover import ANSWERING_ROLES, Hand, Holding
from runtime.messages import HumanJoined, HumanLeft, InboxChanged, SessionMessage
from web import audit
from web.auth.identity import Principal
from web.executions import bus as execution_bus
from web.executions.bus import Bus
from web.handover import repository as repo
from web.handover.schemas import EscalationRules

DRAFT_HISTORY = 50
"""Messages of the session a co-pilot draft reads (the prompt keeps what fits the model)."""


class HandoverService:
    """The caller's side of the sessions it answers; every query in its tenant's scope."""

    def __init__(self, me: Principal, bus: Bus) -> None:
        self.me, self.tenant_id, self.bus = me, me.tenant_id, bus

    def _answering(self) -> None:
        if self.me.role not in ANSWERING_ROLES:
            raise CodedError("forbidden", "Only support people and tenant admins answer conversations.", 403)

    async def _held_elsewhere(self, session_id: uuid.UUID) -> CodedError:
        current = await handover.holding(self.tenant_id, session_id)
        if current is None:
            return CodedError("not_found", "Session not found.", 404)
        return CodedError(
            "session_held", f"{current.holder_name or 'Someone'} is already answering this conversation.", 409
        )

    async def takeover(self, session_id: uuid.UUID, on_running: str) -> tuple[Holding, list[uuid.UUID]]:
        """Hold the session: the agent stops answering it. `on_running` `cancel` cancels its
        reply in progress (billed for what it produced, like any cancel); `finish` lets it end."""
        self._answering()
        async with db.scope(self.tenant_id):
            before = await handover.holding(self.tenant_id, session_id)
            held = await handover.take(self.tenant_id, session_id, self.me.id)
            if held is None:
                raise await self._held_elsewhere(session_id)
            active = await repo.active_executions(self.tenant_id, session_id)
            fresh = before is None or before.held_by != self.me.id
            if fresh:
                await audit.record(
                    "session.takeover",
                    tenant_id=self.tenant_id,
                    actor_id=self.me.id,
                    target_type="session",
                    target_id=session_id,
                    on_running=on_running,
                )
        cancelled: list[uuid.UUID] = []
        if on_running == "cancel":
            for execution_id in active:
                await execution_bus.cancel(self.bus, self.me, execution_id, reason="takeover")
                cancelled.append(execution_id)
        if fresh:
            name = held.holder_name or "Support"
            await self.bus.session_event(HumanJoined(session_id=session_id, user_id=self.me.id, name=name))
            await self._inbox(held.session_id, Hand.HUMAN, self.me.id)
        return held, cancelled

    async def handback(self, session_id: uuid.UUID) -> Holding:
        """Give the session back to the agent; the holder, or a tenant admin for anyone."""
        self._answering()
        async with db.scope(self.tenant_id):
            held = await handover.holding(self.tenant_id, session_id)
            if held is None:
                raise CodedError("not_found", "Session not found.", 404)
            anyone = self.me.role == "tenant_admin"
            if held.hand != Hand.HUMAN or not await handover.give_back(
                self.tenant_id, session_id, None if anyone else self.me.id
            ):
                raise CodedError("not_holder", "You do not hold this conversation.", 409)
            await audit.record(
                "session.handback",
                tenant_id=self.tenant_id,
                actor_id=self.me.id,
                target_type="session",
                target_id=session_id,
            )
        assert held.held_by is not None
        left = HumanLeft(session_id=session_id, user_id=held.held_by, name=held.holder_name or "Support")
        await self.bus.session_event(left)
        await self._inbox(session_id, Hand.AGENT, None)
        return Holding(session_id, held.user_id, held.agent_id, Hand.AGENT, None, None)

    async def route(
        self, session_id: uuid.UUID, content: str, client_id: str | None
    ) -> SessionMessage | None:
        """A chat message while a person holds the session: stored (the holder's as `human`,
        the end user's as `user`) and published to the session; no execution starts. None
        when the agent answers it (the caller admits an execution)."""
        async with db.scope(self.tenant_id):
            held = await handover.holding(self.tenant_id, session_id, lock=True)
            if held is None or held.hand != Hand.HUMAN:
                return None
            if held.held_by == self.me.id:
                role, author, name = HUMAN_ROLE, "human", held.holder_name
            elif held.user_id == self.me.id:
                role, author, name = "user", "user", None
            else:
                raise CodedError(
                    "session_held", f"{held.holder_name or 'Someone'} is answering this conversation.", 409
                )
            author_id = self.me.id if role == HUMAN_ROLE else None
            message_id, _ = await handover.write_message(
                self.tenant_id, session_id, role, content, client_id, author_id
            )
            await db.execute(
                "UPDATE sessions SET updated_at = now() WHERE id = $1 AND tenant_id = $2",
                session_id,
                self.tenant_id,
            )
        message = SessionMessage(
            session_id=session_id,
            message_id=message_id,
            author=author,  # type: ignore[arg-type]
            name=name,
            content=content,
            client_id=client_id,
        )
        await self.bus.session_event(message)
        await self._inbox(session_id, Hand.HUMAN, held.held_by)
        return message

    async def draft_input(self, session_id: uuid.UUID) -> tuple[uuid.UUID, str]:
        """(the agent, the conversation as JSON) a co-pilot draft of the holder answers; only
        the person holding the session gets drafts (409 `not_holder`)."""
        async with db.scope(self.tenant_id):
            held = await handover.holding(self.tenant_id, session_id)
            if held is None:
                raise CodedError("not_found", "Session not found.", 404)
            if held.hand != Hand.HUMAN or held.held_by != self.me.id:
                raise CodedError("not_holder", "Drafts are for the person holding the conversation.", 409)
            rows = await repo.recent_messages(self.tenant_id, session_id, DRAFT_HISTORY)
        turns = [
            {"role": "user" if r["role"] == "user" else "assistant", "content": r["content"]}
            for r in reversed(rows)
            if r["role"] in ("user", "assistant", HUMAN_ROLE)
        ]
        return held.agent_id, json.dumps(turns)

    async def holding(self, session_id: uuid.UUID) -> Holding | None:
        """The session's hand state."""
        async with db.scope(self.tenant_id):
            return await handover.holding(self.tenant_id, session_id)

    async def inbox(
        self, agent_id: uuid.UUID | None, state: str | None, assignee: str | None
    ) -> list[dict[str, Any]]:
        """The tenant's sessions needing or having a person. `assignee`: `me`, `none` or a user id."""
        self._answering()
        unassigned, person = False, None
        if assignee == "me":
            person = self.me.id
        elif assignee == "none":
            unassigned = True
        elif assignee is not None:
            try:
                person = uuid.UUID(assignee)
            except ValueError as exc:
                raise CodedError("bad_value", "assignee is `me`, `none` or a user id.", 400) from exc
        async with db.scope(self.tenant_id):
            return await repo.inbox(self.tenant_id, agent_id, state, unassigned, person)

    async def rules(self) -> EscalationRules:
        """The tenant's escalation rules (none set: an empty rule set)."""
        async with db.scope(self.tenant_id):
            row = await repo.rules(self.tenant_id)
        if row is None:
            return EscalationRules()
        return EscalationRules(
            list(row["keywords"] or []), row["failed_answers"], row["sentiment_below"], row["agent_tool"]
        )

    async def save_rules(self, data: EscalationRules, ip: str | None) -> EscalationRules:
        """Replace the tenant's escalation rules."""
        keywords = sorted({k.strip().lower() for k in data.keywords if k.strip()})
        async with db.scope(self.tenant_id):
            await repo.save_rules(
                self.tenant_id, keywords, data.failed_answers, data.sentiment_below, data.agent_tool
            )
            await audit.record(
                "tenant.escalation_rules", tenant_id=self.tenant_id, actor_id=self.me.id, ip=ip
            )
        return EscalationRules(keywords, data.failed_answers, data.sentiment_below, data.agent_tool)

    async def _inbox(self, session_id: uuid.UUID, hand: Hand, held_by: uuid.UUID | None) -> None:
        change = InboxChanged(
            tenant_id=self.tenant_id, session_id=session_id, hand=hand.value, held_by=held_by
        )
        await self.bus.session_event(change)
