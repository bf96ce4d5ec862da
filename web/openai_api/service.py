"""Agents as OpenAI chat models: find the agent, start its execution, follow its stream.

An execution started here has no session: its input is the request's messages (JSON, see
`runtime.executions.CONVERSATION_SOURCE`) and it runs through the same admission, budgets, actors
and ledger as a chat message. Its events come back under `execution.<id>` (streams.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from runtime import db
from runtime.executions import CONVERSATION_SOURCE, Submission
from runtime.messages import (
    DeltaEvent,
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionRestarted,
    StreamEvent,
)
from web.auth.identity import Principal
from web.executions import bus as execution_bus
from web.executions.bus import Bus
from web.executions.service import Rejected
from web.openai_api.schemas import MAX_CONVERSATION_CHARS, ChatCompletionRequest
from web.openai_api.streams import ExecutionStreams

log = logging.getLogger("hirebuddha.web")

WAIT_S = 900.0
"""Longest wait for an execution's next event (beyond the actors' own execution timeout)."""

_CANCELS: set[asyncio.Task[Any]] = set()


class ApiError(Exception):
    """A refusal in OpenAI's terms: HTTP status, message, machine code, offending param."""

    def __init__(self, status: int, message: str, code: str | None, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param


@dataclass
class Run:
    """A started execution and its event queue (close `exits` when done with it)."""

    execution_id: uuid.UUID
    agent_name: str
    events: asyncio.Queue[StreamEvent]
    exits: AsyncExitStack
    finished: bool = False


async def tenant_agents(me: Principal) -> list[dict[str, Any]]:
    """The tenant's active agents (`/v1/models`)."""
    async with db.scope(me.tenant_id):
        rows = await db.fetch(
            "SELECT id, slug, created_at FROM agents WHERE tenant_id = $1 AND is_active ORDER BY created_at",
            me.tenant_id,
        )
    return [dict(r) for r in rows]


async def find_agent(me: Principal, model: str) -> dict[str, Any]:
    """The caller's tenant's active agent whose id or slug is `model`; 404 otherwise
    (another tenant's agent is as unknown as a missing one)."""
    try:
        agent_id: uuid.UUID | None = uuid.UUID(model)
    except ValueError:
        agent_id = None
    async with db.scope(me.tenant_id):
        row = await db.fetchrow(
            "SELECT id, name, slug FROM agents WHERE tenant_id = $1 AND is_active "
            "AND (id = $2::uuid OR slug = $3) LIMIT 1",
            me.tenant_id,
            agent_id,
            model,
        )
    if row is None:
        raise ApiError(
            404,
            f"The model {model!r} does not exist or you do not have access to it.",
            "model_not_found",
            "model",
        )
    return dict(row)


def _refusal(exc: Rejected) -> ApiError:
    codes = {429: "rate_limit_exceeded", 402: exc.code}
    return ApiError(exc.status, exc.message, codes.get(exc.status, exc.code))


async def start(bus: Bus, streams: ExecutionStreams, me: Principal, request: ChatCompletionRequest) -> Run:
    """Admit and queue the agent's execution, listening to it from before it is queued."""
    agent = await find_agent(me, request.model)
    conversation = json.dumps(request.conversation())
    if len(conversation) > MAX_CONVERSATION_CHARS:
        raise ApiError(
            400,
            f"The messages exceed {MAX_CONVERSATION_CHARS} characters.",
            "context_length_exceeded",
            "messages",
        )
    execution_id = uuid.uuid4()
    exits = AsyncExitStack()
    events = await exits.enter_async_context(streams.listen(execution_id))
    try:
        await execution_bus.dispatch(
            bus,
            me,
            Submission(agent["id"], conversation, CONVERSATION_SOURCE, execution_id=execution_id),
        )
    except Rejected as exc:
        await exits.aclose()
        raise _refusal(exc) from exc
    except BaseException:
        await exits.aclose()
        raise
    return Run(execution_id, agent["slug"] or str(agent["id"]), events, exits)


async def follow(run: Run) -> AsyncIterator[StreamEvent]:
    """The execution's events until its end (completed, failed or cancelled)."""
    while not run.finished:
        async with asyncio.timeout(WAIT_S):
            event = await run.events.get()
        if isinstance(event, ExecutionCompleted | ExecutionFailed | ExecutionCancelled):
            run.finished = True
        if isinstance(
            event, DeltaEvent | ExecutionRestarted | ExecutionCompleted | ExecutionFailed | ExecutionCancelled
        ):
            yield event


async def _cancel(bus: Bus, me: Principal, execution_id: uuid.UUID) -> None:
    try:
        await execution_bus.cancel(bus, me, execution_id, reason="client_disconnected")
    except Exception as exc:  # it ended meanwhile, or the broker is away: nothing to undo
        log.warning("could not cancel abandoned execution %s: %r", execution_id, exc)


def abandon(bus: Bus, me: Principal, run: Run) -> None:
    """The client went away before the end: cancel the execution (billed for what it used).

    In its own task: the caller is being cancelled, and the cancel must still go out.
    """
    if run.finished:
        return
    run.finished = True
    task = asyncio.get_running_loop().create_task(_cancel(bus, me, run.execution_id))
    _CANCELS.add(task)
    task.add_done_callback(_CANCELS.discard)
