"""Workflows of a tenant: its admins define them, every member reads and runs them.

Saving validates the DAG (`runtime.workflows.validate`) and then what only the database
knows: the agents and catalog models the LLM steps name. A run is admitted like an agent's
execution (`hb_admit_workflow`: the same tenant lock and slot rule) with a budget hold that
covers every LLM step's bound, then queued for a `WorkflowActor` (actors/workflow.py).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
from litestar.exceptions import NotFoundException, ValidationException

# web -> ledger.budget is a named exception of the dependency rule (docs/architecture.md):
# a run's admission holds budget under the tenant lock, by the ledger's own rules.
from ledger import budget
from runtime import db
from runtime import workflows as wf
from runtime.errors import SUSPENDED_MESSAGE, CodedError
from runtime.executions import ExecutionStatus
from runtime.messages import WORKFLOW_AGENT, ExecutionRequested
from runtime.publishing import publish_execution
from web import audit
from web.auth.identity import Principal
from web.deps import found
from web.executions import bus as execution_bus
from web.executions.service import Rejected, admit_credit, mark_unqueued
from web.workflows import repository as repo


def invalid(problems: list[wf.Problem]) -> ValidationException:
    """422 `invalid_workflow` with one `{node, field, message}` per problem."""
    errors = [{"node": p.node, "field": p.field, "message": p.message, "key": p.field} for p in problems]
    first = problems[0]
    where = f"node {first.node!r}, {first.field}" if first.node else first.field
    exc = ValidationException(f"Invalid workflow: {where}: {first.message}", extra=errors, status_code=422)
    exc.__cause__ = CodedError("invalid_workflow", exc.detail, 422)
    return exc


def _steps(graph: wf.Graph) -> list[tuple[str, str, dict[str, Any]]]:
    """(node id, field prefix, step) of every LLM step."""
    out = []
    for node_id, node in graph.nodes.items():
        if node["type"] == "llm":
            out.append((node_id, "", node))
        elif node["type"] == "map" and isinstance(node.get("step"), dict):
            out.append((node_id, "step.", node["step"]))
    return out


def _agent_refs(graph: wf.Graph) -> list[tuple[str, str, dict[str, Any]]]:
    """(node id, field prefix, settings) of everything that names an agent: LLM steps and
    built-in tools run for an agent (`knowledge_search` searches its documents)."""
    tools = [(n, "", v) for n, v in graph.nodes.items() if v["type"] == "tool" and v.get("builtin")]
    return [*_steps(graph), *tools]


async def check_references(tenant_id: uuid.UUID, graph: wf.Graph) -> None:
    """422 naming the node for an agent or model that does not exist (or is inactive)."""
    problems: list[wf.Problem] = []
    agent_ids: dict[str, uuid.UUID] = {}
    for node_id, prefix, step in _agent_refs(graph):
        if step.get("agent_id"):
            try:
                agent_ids[node_id + "/" + prefix] = uuid.UUID(str(step["agent_id"]))
            except ValueError:
                problems.append(wf.Problem(node_id, prefix + "agent_id", "is not an agent id"))
    models = [str(step["model"]) for _, _, step in _steps(graph) if step.get("model")]
    async with db.scope(tenant_id):
        agents = await repo.known_agents(tenant_id, list(agent_ids.values()))
        known_models = await repo.chat_models(models)
    for node_id, prefix, step in _agent_refs(graph):
        key = agent_ids.get(node_id + "/" + prefix)
        if key is not None and key not in agents:
            problems.append(
                wf.Problem(node_id, prefix + "agent_id", f"no active agent {key} in this workspace")
            )
        if step.get("model") and str(step["model"]) not in known_models:
            problems.append(
                wf.Problem(
                    node_id, prefix + "model", f"{step['model']!r} is not an active chat model of the catalog"
                )
            )
    if problems:
        raise invalid(problems)


def check_input(graph: wf.Graph, value: dict[str, Any]) -> None:
    """422 `invalid_input` unless the run's input has every field of the input node, typed."""
    kinds = {
        "string": str,
        "number": int | float,
        "integer": int,
        "boolean": bool,
        "array": list,
        "object": dict,
    }
    node = graph.nodes[graph.of_type("input")[0]]
    for spec in node.get("fields") or []:
        name, kind = spec["name"], spec.get("type", "string")
        if name not in value:
            if spec.get("required", True):
                raise Rejected("invalid_input", f"input.{name} is required.", 422)
            continue
        if not isinstance(value[name], kinds[kind]) or (
            kind in ("number", "integer") and isinstance(value[name], bool)
        ):
            raise Rejected("invalid_input", f"input.{name} must be of type {kind}.", 422)


def input_of_message(graph: wf.Graph, content: str) -> dict[str, Any]:
    """A chat message as a run's input: it fills the input node's only text field, else it
    must be a JSON object of the node's fields (422 `invalid_input` otherwise)."""
    fields = graph.nodes[graph.of_type("input")[0]].get("fields") or []
    if len(fields) == 1 and fields[0].get("type", "string") == "string":
        return {fields[0]["name"]: content}
    names = ", ".join(str(f["name"]) for f in fields) or "none"
    try:
        value = json.loads(content)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise Rejected(
            "invalid_input", f"This workflow takes the fields {names}: send them as one JSON object.", 422
        )
    return value


@dataclass(frozen=True)
class Turn:
    """The chat message a run answers: its session gets the user's message now and the
    run's output when it completes."""

    session_id: uuid.UUID
    content: str
    client_id: str | None = None


class WorkflowService:
    """The caller's tenant's workflows and runs; every query runs in its scope."""

    def __init__(self, me: Principal) -> None:
        self.me, self.tenant_id = me, me.tenant_id

    def _viewer(self) -> uuid.UUID | None:
        """A tenant admin sees every run of the tenant; a user its own."""
        return None if self.me.role == "tenant_admin" else self.me.id

    async def _audit(self, action: str, workflow_id: uuid.UUID, **details: Any) -> None:
        await audit.record(
            action,
            tenant_id=self.tenant_id,
            actor_id=self.me.id,
            target_type="workflow",
            target_id=workflow_id,
            **details,
        )

    async def _validated(self, dag: Any) -> dict[str, Any]:
        raw = msgspec.to_builtins(dag)
        try:
            graph = wf.validate(raw)
        except wf.InvalidWorkflowError as exc:
            refusal = invalid(exc.problems)
            raise refusal from refusal.__cause__
        await check_references(self.tenant_id, graph)
        return raw

    async def listing(self) -> list[dict[str, Any]]:
        async with db.scope(self.tenant_id):
            return await repo.workflows(self.tenant_id)

    async def get(self, workflow_id: uuid.UUID) -> dict[str, Any]:
        async with db.scope(self.tenant_id):
            return found(await repo.workflow(self.tenant_id, workflow_id), "Workflow")

    async def create(self, name: str, description: str | None, dag: Any, is_active: bool) -> dict[str, Any]:
        raw = await self._validated(dag)
        async with db.scope(self.tenant_id):
            workflow_id = await repo.insert(self.tenant_id, name, description, raw, is_active)
            await self._audit("workflow.create", workflow_id)
            return found(await repo.workflow(self.tenant_id, workflow_id), "Workflow")

    async def update(self, workflow_id: uuid.UUID, fields: dict[str, Any]) -> dict[str, Any]:
        if "dag_structure" in fields:
            fields["dag_structure"] = await self._validated(fields["dag_structure"])
        async with db.scope(self.tenant_id):
            found(await repo.workflow(self.tenant_id, workflow_id), "Workflow")
            await repo.update(self.tenant_id, workflow_id, fields)
            await self._audit("workflow.update", workflow_id, fields=sorted(fields))
            return found(await repo.workflow(self.tenant_id, workflow_id), "Workflow")

    async def delete(self, workflow_id: uuid.UUID) -> None:
        """Delete the definition; its runs stay (they carry the DAG they ran)."""
        async with db.scope(self.tenant_id):
            if not await repo.delete(self.tenant_id, workflow_id):
                raise NotFoundException("Workflow not found.")
            await self._audit("workflow.delete", workflow_id)

    # --- runs ----------------------------------------------------------------------------

    async def _bound(self, graph: wf.Graph, value: dict[str, Any]) -> budget.Estimate | None:
        """The run's hold: every LLM step's bound (prompt: its system and template, the
        input, and every upstream LLM step's longest output)."""
        input_bytes = len(json.dumps(value).encode())
        steps: list[budget.StepBound] = []
        configs: dict[str, dict[str, Any]] = {}
        async with db.scope(self.tenant_id):
            for node_id, _, step in _steps(graph):
                config: dict[str, Any] = {"model": step.get("model")}
                system = str(step.get("system") or "")
                if step.get("agent_id"):
                    row = await db.fetchrow(
                        "SELECT role, llm_config FROM agents WHERE id = $1 AND tenant_id = $2",
                        uuid.UUID(str(step["agent_id"])),
                        self.tenant_id,
                    )
                    if row is None:
                        raise Rejected("not_found", f"Node {node_id!r}: its agent no longer exists.", 404)
                    llm = row["llm_config"]
                    config, system = (json.loads(llm) if isinstance(llm, str) else llm), row["role"]
                elif step.get("max_tokens"):
                    config["max_tokens"] = step["max_tokens"]
                configs[node_id] = config
                upstream = sum(
                    budget.output_bound(configs.get(a) or {}) * 4
                    for a in graph.ancestors(node_id)
                    if graph.nodes[a]["type"] in ("llm", "map")
                )
                content = len(
                    (system + step["prompt_template"] + json.dumps(step.get("output_schema") or {})).encode()
                )
                calls = int((graph.nodes[node_id].get("retry") or {}).get("max_attempts", 1))
                if graph.nodes[node_id]["type"] == "map":
                    calls *= int(graph.nodes[node_id].get("max_items", wf.DEFAULT_MAP_ITEMS))
                steps.append(budget.StepBound(config, content + input_bytes + upstream, calls))
            return await budget.estimate_steps(self.tenant_id, self.me.id, steps)

    async def admit(
        self,
        workflow_id: uuid.UUID,
        value: dict[str, Any],
        *,
        source: str = "rest",
        webhook_url: str | None = None,
        correlation_id: str | None = None,
        reply_to: str | None = None,
        wait_for_slot: bool = False,
        turn: Turn | None = None,
    ) -> dict[str, Any]:
        """Admit a run: `{id, status, tier, version, duplicate, message_id}`; the caller queues
        it. With a chat `turn` the run belongs to its session and the message is stored."""
        definition = await self.get(workflow_id)
        if not definition["is_active"]:
            raise Rejected("not_found", "Workflow not found or inactive.", 404)
        graph = wf.Graph.of(definition["dag_structure"])
        check_input(graph, value)
        estimate = await self._bound(graph, value)
        execution_id = uuid.uuid4()
        if turn is not None and turn.client_id:
            # A retried send of the same chat message (same client_id): its run, not a second.
            earlier = await self._earlier_turn(turn)
            if earlier is not None:
                return earlier
        try:
            return await self._admit(
                workflow_id,
                execution_id,
                value,
                estimate,
                source,
                turn,
                webhook_url=webhook_url,
                correlation_id=correlation_id,
                reply_to=reply_to,
                wait_for_slot=wait_for_slot,
            )
        except asyncpg.UniqueViolationError:
            # The same send admitted concurrently (the messages' unique client_id): that one
            # stands, and this admission rolled back whole (its hold included).
            earlier = None if turn is None else await self._earlier_turn(turn)
            if earlier is None:
                raise
            return earlier

    async def _admit(
        self,
        workflow_id: uuid.UUID,
        execution_id: uuid.UUID,
        value: Any,
        estimate: Any,
        source: str,
        turn: Turn | None,
        *,
        webhook_url: str | None,
        correlation_id: str | None,
        reply_to: str | None,
        wait_for_slot: bool,
    ) -> dict[str, Any]:
        async with db.scope(self.tenant_id):
            row = await db.fetchrow(
                "SELECT * FROM hb_admit_workflow($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10)",
                self.tenant_id,
                self.me.id,
                workflow_id,
                execution_id,
                source,
                json.dumps(value),
                correlation_id,
                reply_to,
                webhook_url,
                wait_for_slot,
            )
            assert row is not None
            outcome = row["outcome"]
            if outcome == "duplicate":
                return {
                    "id": row["out_execution"],
                    "status": row["out_status"],
                    "duplicate": True,
                    "tier": "free",
                    "version": None,
                    "message_id": None,
                }
            if outcome == "workflow_not_found":
                raise Rejected("not_found", "Workflow not found or inactive.", 404)
            if outcome == "tenant_inactive":
                raise Rejected("tenant_inactive", "This workspace is not active.", 403)
            if outcome == "tenant_suspended":
                raise Rejected("tenant_suspended", SUSPENDED_MESSAGE, 403)
            if outcome == "rate_limited":
                raise Rejected(
                    "rate_limited",
                    f"Too many executions at once (limit {row['out_limit']}); retry shortly.",
                    429,
                )
            call = budget.Call(self.tenant_id, self.me.id, WORKFLOW_AGENT, execution_id)
            await admit_credit(call, estimate)
            message_id = None if turn is None else await repo.attach_turn(self.tenant_id, execution_id, turn)
        return {
            "message_id": message_id,
            "id": execution_id,
            "status": ExecutionStatus(row["out_status"]),
            "tier": row["out_tier"] or "free",
            "version": row["out_version"],
            "duplicate": False,
        }

    async def _earlier_turn(self, turn: Turn) -> dict[str, Any] | None:
        """The admitted run of an earlier send of `turn` (same session and client_id)."""
        assert turn.client_id is not None
        async with db.scope(self.tenant_id):
            row = await repo.find_turn(self.tenant_id, turn.session_id, turn.client_id)
        if row is None:
            return None
        return {
            "id": row["execution_id"],
            "status": ExecutionStatus(row["status"]),
            "duplicate": True,
            "tier": "free",
            "version": None,
            "message_id": row["message_id"],
        }

    async def runs(self, workflow_id: uuid.UUID, limit: int = 100) -> list[dict[str, Any]]:
        async with db.scope(self.tenant_id):
            found(await repo.workflow(self.tenant_id, workflow_id), "Workflow")
            return await repo.runs(self.tenant_id, workflow_id, self._viewer(), limit)

    async def run(self, run_id: uuid.UUID) -> dict[str, Any]:
        async with db.scope(self.tenant_id):
            row = found(await repo.run(self.tenant_id, run_id, self._viewer()), "Run")
            row["nodes"] = await repo.node_runs(self.tenant_id, run_id)
        return row

    async def give_input(self, run_id: uuid.UUID, node_id: str, value: Any) -> None:
        """A person's input for a waiting human node (409 `not_waiting` otherwise)."""
        async with db.scope(self.tenant_id):
            found(await repo.run(self.tenant_id, run_id, self._viewer()), "Run")
            if not await repo.give_input(self.tenant_id, run_id, node_id, value, self.me.id):
                raise Rejected("not_waiting", f"Node {node_id!r} of this run is not waiting for input.", 409)
            await audit.record(
                "workflow.human_input",
                tenant_id=self.tenant_id,
                actor_id=self.me.id,
                target_type="execution",
                target_id=run_id,
                node_id=node_id,
            )

    async def tool_hosts(self) -> list[str]:
        async with db.scope(self.tenant_id):
            return await repo.tool_hosts(self.tenant_id)

    async def set_tool_hosts(self, hosts: list[str]) -> list[str]:
        cleaned = sorted({h.lower().rstrip(".") for h in hosts})
        async with db.scope(self.tenant_id):
            await repo.set_tool_hosts(self.tenant_id, cleaned)
            await audit.record(
                "workflow.tool_hosts", tenant_id=self.tenant_id, actor_id=self.me.id, hosts=cleaned
            )
        return cleaned


async def queue_run(
    bus: execution_bus.Bus,
    me: Principal,
    workflow_id: uuid.UUID,
    admitted: dict[str, Any],
    *,
    source: str = "rest",
    webhook_url: str | None = None,
    correlation_id: str | None = None,
    reply_to: str | None = None,
    session_id: uuid.UUID | None = None,
) -> None:
    """Publish an admitted run for a workflow actor (not a duplicate, not `queued`)."""
    if admitted["duplicate"] or admitted["status"] == ExecutionStatus.QUEUED:
        return
    request = ExecutionRequested(
        execution_id=admitted["id"],
        tenant_id=me.tenant_id,
        agent_id=WORKFLOW_AGENT,
        workflow_id=workflow_id,
        source=source,
        webhook_url=webhook_url,
        correlation_id=correlation_id,
        reply_to=reply_to,
        session_id=session_id,
        message_id=admitted.get("message_id"),
    )
    try:
        async with asyncio.timeout(execution_bus.PUBLISH_TIMEOUT_S):
            await publish_execution(bus.broker, bus.topo, request, admitted["tier"])
    except Exception as exc:
        await mark_unqueued(me.tenant_id, admitted["id"])
        raise Rejected("unavailable", "The work queue is unavailable; retry shortly.", 503) from exc
