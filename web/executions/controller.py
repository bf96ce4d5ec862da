"""`/executions`: background runs of an agent, on the same actors as chat."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException, NotFoundException

from runtime.executions import ExecutionStatus, Submission
from web.auth.guards import requires_execution_caller
from web.auth.identity import Principal
from web.executions import bus as execution_bus
from web.executions import service
from web.executions.schemas import ExecutionAccepted, ExecutionCreate, ExecutionOut
from web.executions.service import Rejected
from web.security.urls import require_safe_url


def _refuse(exc: Rejected) -> HTTPException:
    headers = {"Retry-After": "1"} if exc.status in (429, 503) else None
    if exc.headers:
        headers = {**(headers or {}), **exc.headers}
    return HTTPException(status_code=exc.status, detail=exc.message, headers=headers)


class ExecutionController(Controller):
    """Start, list, read and cancel executions."""

    path = "/executions"
    guards = [requires_execution_caller]
    tags = ["executions"]

    @post("/", status_code=202)
    async def create_execution(
        self, request: Request, me: Principal, data: ExecutionCreate
    ) -> ExecutionAccepted:
        """Queue a run of an agent of the tenant; poll GET /executions/{id} for the result."""
        await require_safe_url(data.webhook_url, "webhook_url")
        try:
            sent = await execution_bus.dispatch(
                request.app.state.bus,
                me,
                Submission(data.agent_id, data.input, source="rest", webhook_url=data.webhook_url),
            )
        except Rejected as exc:
            raise _refuse(exc) from exc
        return ExecutionAccepted(sent.execution_id, ExecutionStatus.PENDING)

    @get("/")
    async def list_executions(self, me: Principal) -> list[ExecutionOut]:
        """The caller's executions (a tenant admin's: the tenant's), newest first."""
        rows = await service.listing(me)
        return msgspec.convert(rows, list[ExecutionOut])

    @get("/{execution_id:uuid}")
    async def get_execution(self, me: Principal, execution_id: uuid.UUID) -> ExecutionOut:
        """One execution with its status and, once ended, result, usage and timestamps."""
        row = await service.get(me, execution_id)
        if row is None:
            raise NotFoundException("Execution not found.")
        return msgspec.convert(row, ExecutionOut)

    @post("/{execution_id:uuid}/cancel", status_code=202)
    async def cancel_execution(
        self, request: Request, me: Principal, execution_id: uuid.UUID
    ) -> Response[ExecutionAccepted]:
        """Cancel: 200 with the final status if it already ended, else 202 while it stops."""
        try:
            row = await execution_bus.cancel(request.app.state.bus, me, execution_id)
        except Rejected as exc:
            raise _refuse(exc) from exc
        status = "cancelling" if row["status"] == ExecutionStatus.RUNNING else row["status"]
        code = 202 if status == "cancelling" else 200
        return Response(ExecutionAccepted(execution_id, status), status_code=code)
