"""`/workflows` (tenant admins write, members read and run) and `/workflow-runs` (a run,
its node runs, cancel, a human node's input, the run socket). docs/workflows.md."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, Response, WebSocket, delete, get, patch, post, put, websocket
from litestar.di import Provide
from litestar.exceptions import HTTPException, WebSocketDisconnect

from runtime.executions import ENDED, ExecutionStatus
from runtime.messages import (
    ErrorInfo,
    HumanInput,
    NodeCompleted,
    NodeFailed,
    NodeSkipped,
    NodeWaiting,
    StreamEvent,
)
from runtime.publishing import publish_control
from web.auth.guards import requires_tenant_admin, requires_tenant_member
from web.auth.identity import Principal
from web.auth.sockets import accept_authenticated
from web.chat import protocol as p
from web.executions import bus as execution_bus
from web.executions.service import Rejected
from web.openai_api.controller import provide_streams
from web.security.urls import require_safe_url
from web.workflows.deps import provide_workflow_service
from web.workflows.schemas import (
    HumanInputIn,
    RunAccepted,
    RunCreate,
    RunOut,
    ToolHosts,
    WorkflowCreate,
    WorkflowOut,
    WorkflowPatch,
)
from web.workflows.service import WorkflowService, queue_run

NODE_ID = r"[a-z][a-z0-9_]{0,63}"


def _refuse(exc: Rejected) -> HTTPException:
    headers = {"Retry-After": "1"} if exc.status in (429, 503) else None
    return HTTPException(status_code=exc.status, detail=exc.message, headers=headers)


class WorkflowController(Controller):
    """Define workflows and start runs."""

    path = "/workflows"
    dependencies = {"workflow_service": Provide(provide_workflow_service)}
    tags = ["workflows"]

    @get("/", guards=[requires_tenant_member])
    async def list_workflows(self, workflow_service: WorkflowService) -> list[WorkflowOut]:
        """The tenant's workflows, newest first."""
        return msgspec.convert(await workflow_service.listing(), list[WorkflowOut])

    @post("/", guards=[requires_tenant_admin], status_code=201)
    async def create_workflow(self, workflow_service: WorkflowService, data: WorkflowCreate) -> WorkflowOut:
        """Define a workflow; the DAG is validated (422 `invalid_workflow` names node and field)."""
        row = await workflow_service.create(data.name, data.description, data.dag_structure, data.is_active)
        return msgspec.convert(row, WorkflowOut)

    @get("/tool-hosts", guards=[requires_tenant_admin])
    async def get_tool_hosts(self, workflow_service: WorkflowService) -> ToolHosts:
        """Hosts the workspace's tool nodes may call."""
        return ToolHosts(await workflow_service.tool_hosts())

    @put("/tool-hosts", guards=[requires_tenant_admin])
    async def put_tool_hosts(self, workflow_service: WorkflowService, data: ToolHosts) -> ToolHosts:
        """Replace the hosts the workspace's tool nodes may call."""
        return ToolHosts(await workflow_service.set_tool_hosts(data.hosts))

    @get("/{workflow_id:uuid}", guards=[requires_tenant_member])
    async def get_workflow(self, workflow_service: WorkflowService, workflow_id: uuid.UUID) -> WorkflowOut:
        """One workflow (its current version)."""
        return msgspec.convert(await workflow_service.get(workflow_id), WorkflowOut)

    @patch("/{workflow_id:uuid}", guards=[requires_tenant_admin])
    async def patch_workflow(
        self, workflow_service: WorkflowService, workflow_id: uuid.UUID, data: WorkflowPatch
    ) -> WorkflowOut:
        """Change some fields; a new `dag_structure` is a new version (runs keep theirs)."""
        fields = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        return msgspec.convert(await workflow_service.update(workflow_id, fields), WorkflowOut)

    @delete("/{workflow_id:uuid}", guards=[requires_tenant_admin], status_code=204)
    async def delete_workflow(self, workflow_service: WorkflowService, workflow_id: uuid.UUID) -> None:
        """Delete a workflow (its runs and their node runs stay)."""
        await workflow_service.delete(workflow_id)

    @post("/{workflow_id:uuid}/runs", guards=[requires_tenant_member], status_code=202)
    async def start_run(
        self,
        request: Request,
        workflow_service: WorkflowService,
        me: Principal,
        workflow_id: uuid.UUID,
        data: RunCreate,
    ) -> RunAccepted:
        """Start a run on `input`: 202 with its execution; watch it on the run socket."""
        await require_safe_url(data.webhook_url, "webhook_url")
        try:
            admitted = await workflow_service.admit(workflow_id, data.input, webhook_url=data.webhook_url)
            await queue_run(request.app.state.bus, me, workflow_id, admitted, webhook_url=data.webhook_url)
        except Rejected as exc:
            raise _refuse(exc) from exc
        return RunAccepted(admitted["id"], str(admitted["status"]), workflow_id, admitted["version"])

    @get("/{workflow_id:uuid}/runs", guards=[requires_tenant_member])
    async def list_runs(self, workflow_service: WorkflowService, workflow_id: uuid.UUID) -> list[RunOut]:
        """The workflow's runs, newest first (a user's own; a tenant admin's: all)."""
        return msgspec.convert(await workflow_service.runs(workflow_id), list[RunOut])


class WorkflowRunController(Controller):
    """A run, its nodes, its cancel, a human node's input."""

    path = "/workflow-runs"
    dependencies = {"workflow_service": Provide(provide_workflow_service)}
    guards = [requires_tenant_member]
    tags = ["workflows"]

    @get("/{run_id:uuid}")
    async def get_run(self, workflow_service: WorkflowService, run_id: uuid.UUID) -> RunOut:
        """A run with every node run (map items with `item` >= 0)."""
        return msgspec.convert(await workflow_service.run(run_id), RunOut)

    @post("/{run_id:uuid}/cancel", status_code=202)
    async def cancel_run(
        self, request: Request, workflow_service: WorkflowService, me: Principal, run_id: uuid.UUID
    ) -> Response[RunAccepted]:
        """Cancel: every running node stops; 200 with the final status if it already ended."""
        await workflow_service.run(run_id)  # 404 unless the caller sees this run
        try:
            row = await execution_bus.cancel(request.app.state.bus, me, run_id)
        except Rejected as exc:
            raise _refuse(exc) from exc
        status = "cancelling" if row["status"] == ExecutionStatus.RUNNING else row["status"]
        return Response(RunAccepted(run_id, status), status_code=202 if status == "cancelling" else 200)

    @post("/{run_id:uuid}/nodes/{node_id:str}/input", status_code=202)
    async def give_input(
        self,
        request: Request,
        workflow_service: WorkflowService,
        run_id: uuid.UUID,
        node_id: str,
        data: HumanInputIn,
    ) -> RunAccepted:
        """A person's input for a waiting human node (409 `not_waiting` otherwise)."""
        try:
            await workflow_service.give_input(run_id, node_id[:64], data.input)
        except Rejected as exc:
            raise _refuse(exc) from exc
        bus = request.app.state.bus
        # Wakes the run's actor now (it also looks for the stored input on its own).
        await publish_control(bus.broker, bus.topo, HumanInput(execution_id=run_id, content=node_id[:64]))
        return RunAccepted(run_id, "running")


def _stored_events(run: dict[str, Any]) -> list[StreamEvent]:
    """What a socket that comes late missed: the stored end of every node run."""
    events: list[StreamEvent] = []
    for node in run["nodes"]:
        key = node["node_id"] if node["item"] < 0 else f"{node['node_id']}[{node['item']}]"
        if node["status"] == "completed":
            events.append(
                NodeCompleted(
                    execution_id=run["id"], node_id=key, output=node["output"], branch=node["branch"]
                )
            )
        elif node["status"] == "failed":
            error = ErrorInfo(code="failed", message=node["error"] or "failed")
            events.append(NodeFailed(execution_id=run["id"], node_id=key, error=error))
        elif node["status"] == "skipped":
            events.append(NodeSkipped(execution_id=run["id"], node_id=key))
        elif node["status"] == "waiting":
            events.append(NodeWaiting(execution_id=run["id"], node_id=key))
    return events


@websocket(
    "/workflow-runs/{run_id:uuid}/ws",
    opt={"exclude_from_auth": True, "first_frame_auth": True},
    tags=["workflows"],
)
async def run_socket(socket: WebSocket, run_id: uuid.UUID) -> None:
    """A run's live events: `ready`, the stored node ends so far, then `node.*` and the
    final `execution.*` frame as they happen. Client frames: `cancel`, `ping`."""
    me = await accept_authenticated(socket)
    if me is None:
        return
    if me.role not in ("tenant_admin", "user"):
        await socket.close(code=p.CLOSE_FORBIDDEN, reason="runs are for members of a workspace")
        return
    service = WorkflowService(me)
    state = socket.app.state
    streams = await provide_streams(state)
    try:
        await service.run(run_id)
    except Exception:
        await socket.send_text(p.encode(p.Error("not_found", "Run not found.")))
        await socket.close(code=p.CLOSE_NOT_FOUND, reason="run not found")
        return
    async with streams.listen(run_id) as events:
        run = await service.run(run_id)
        await socket.send_text(
            msgspec.json.encode({"type": "ready", "execution_id": run_id, "status": run["status"]}).decode()
        )
        for event in _stored_events(run):
            await socket.send_text(p.encode(p.frame_of(event)))
        if run["status"] in ENDED:
            final: dict[str, Any] = {"type": f"execution.{run['status']}", "execution_id": run_id}
            final["output"] = (run["result_data"] or {}).get("output")
            await socket.send_text(msgspec.json.encode(final).decode())
            await socket.close()
            return
        reader = asyncio.create_task(_read_frames(socket, me, run_id))
        try:
            while not reader.done():
                getter = asyncio.create_task(events.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                event = getter.result()
                await socket.send_text(p.encode(p.frame_of(event)))
                if event.__struct_config__.tag in (
                    "execution.completed",
                    "execution.failed",
                    "execution.cancelled",
                ):
                    break
        except WebSocketDisconnect:
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(Exception):
                await socket.close()


async def _read_frames(socket: WebSocket, me: Principal, run_id: uuid.UUID) -> None:
    """Client frames: `cancel` stops the run, `ping` answers `pong`, others an error frame."""
    bus = socket.app.state.bus
    while True:
        try:
            raw = await socket.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            return
        try:
            frame = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            await socket.send_text(p.encode(p.Error("bad_json", "The frame is not valid JSON.")))
            continue
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "ping":
            await socket.send_text(p.encode(p.Pong()))
        elif kind == "cancel":
            try:
                await execution_bus.cancel(bus, me, run_id)
            except Rejected as exc:
                await socket.send_text(p.encode(p.Error(exc.code, exc.message)))
        else:
            await socket.send_text(p.encode(p.Error("unknown_type", "Frames: cancel, ping.")))


__all__ = ["WorkflowController", "WorkflowRunController", "queue_run", "run_socket"]
