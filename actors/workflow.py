"""`WorkflowActor`: runs one workflow run; every node runs as a child actor of its own.

The actor at `actor.<execution_id>` claims the run, reloads what earlier attempts finished
(`workflow_node_runs`), and walks the DAG: every node whose incoming edges are decided
starts at once, as a `NodeActor` at `actor.<execution_id>.<node_id>` (a `map` item at
`actor.<execution_id>.<node_id>[i]`), so independent branches and map items run side by
side. Each node streams `node.*` events under the run's key and its LLM calls are billed
with the run's execution id and the node id. A node's end is stored before the next node
that reads it starts, so after a crash (SIGKILL) the redelivered run continues from the
finished nodes and never runs, or bills, one of them again.

Cancel (a `CancelExecution` to the run's address) tells every child actor to stop now.
docs/workflows.md describes the model; `runtime.workflows` the DAG.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from actors import jobs, progress, store, workflow_store
from actors.coalesce import Coalescer
from actors.execution import ActorContext
from actors.progress import USAGE_NAMESPACE, Progress
from actors.providers import (
    ProviderError,
    count_prompt_tokens,
    count_tokens,
    demo_structured,
    structured,
)
from ledger import budget
from runtime import embeddings, knowledge, logs, urlguard
from runtime import workflows as wf
from runtime.actor import Actor
from runtime.broker import BROKER_LOST
from runtime.errors import CodedError
from runtime.executions import ExecutionStatus
from runtime.messages import (
    WORKFLOW_AGENT,
    CancelExecution,
    ErrorInfo,
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionRequested,
    ExecutionRestarted,
    HumanInput,
    NodeCompleted,
    NodeDelta,
    NodeFailed,
    NodeSkipped,
    NodeStarted,
    NodeWaiting,
    Snapshot,
    SnapshotRequest,
    StreamEvent,
    Usage,
    UsageRecorded,
    canonical_json,
)
from runtime.publishing import publish_usage
from runtime.registry import ActorRegistry
from runtime.settings import get_settings

log = logging.getLogger("hirebuddha.actors")

DEFAULT_SYSTEM = "You are one step of a workflow. Answer the request precisely."
HUMAN_POLL_S = 0.5
"""How often a waiting human node looks for its input (the REST endpoint also wakes it)."""
TOOL_TIMEOUT_S = 30.0
TOOL_BODY_LIMIT = 100_000


class NodeError(CodedError):
    """A node failed with a code the client sees."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


BuiltinTool = Callable[[dict[str, Any], dict[str, Any], "WorkflowRun"], Awaitable[dict[str, Any]]]
BUILTIN_TOOL_RUNNERS: dict[str, BuiltinTool] = {}
"""Runners of `runtime.workflows.BUILTIN_TOOLS` by name: `(node, upstream outputs, run) ->
output`. The extension point for knowledge search: register a runner here and its name in
`BUILTIN_TOOLS`, and `tool` nodes may name it as `builtin`."""


class NodeActor(Actor):
    """One node (or map item) of a run: its own address, its work in a task it can cancel."""

    def __init__(self, actor_id: str, work: asyncio.Task[Any]) -> None:
        super().__init__(actor_id)
        self.work = work

    async def on_receive(self, message: Any) -> Any:
        if isinstance(message, CancelExecution) and not self.work.done():
            self.work.cancel()
        return None


@dataclass
class LiveCall:
    """An LLM call of a node in flight: what its progress is counted from at each heartbeat."""

    call: int
    agent_id: uuid.UUID
    model: str
    provider: str
    messages: list[dict[str, Any]]
    coalescer: Coalescer
    max_tokens: int


def _total(usages: list[Usage]) -> Usage:
    return Usage(
        input_tokens=sum(u.input_tokens for u in usages),
        output_tokens=sum(u.output_tokens for u in usages),
        counted=any(u.counted for u in usages),
    )


class WorkflowRun:
    """State of one attempt at a workflow run; `finished` is set when it has ended."""

    def __init__(self, request: ExecutionRequested, ctx: ActorContext) -> None:
        self.request, self.ctx = request, ctx
        self.id, self.tenant_id = request.execution_id, request.tenant_id
        self.session_id = request.session_id
        self.attempt = 0
        self.registry: ActorRegistry | None = None
        self.graph: wf.Graph | None = None
        self.claim: workflow_store.RunClaim | None = None
        self.status: dict[str, str] = {}
        """node id -> completed | failed | skipped (ended nodes only)."""
        self.branch: dict[str, str | None] = {}
        self.outputs: dict[str, Any] = {}
        self.items: dict[str, dict[int, Any]] = {}
        """Finished map items of earlier attempts: node -> index -> output."""
        self.children: dict[str, NodeActor] = {}
        self.usages: list[Usage] = []
        self.calls: dict[str, int] = {}
        self.live: dict[str, LiveCall] = {}
        """node key -> its LLM call in flight, recorded with every heartbeat (actors.progress)."""
        self.cancel_reason: str | None = None
        self.human_wake = asyncio.Event()
        self.failure: tuple[str, str, str] | None = None
        """(node, code, message) of the node whose failure ends the run."""
        self.finished = asyncio.Event()
        self.trace_parent: Any = None
        """The traceparent of the run's message (runtime/telemetry.py); node spans are not yet made."""

    # --- control ---------------------------------------------------------------------------

    async def cancel(self, reason: str) -> None:
        """Stop every running node now."""
        if self.cancel_reason is not None:
            return
        self.cancel_reason = reason
        self.human_wake.set()
        for child in list(self.children.values()):
            if child.alive:
                child.tell(CancelExecution(execution_id=self.id, reason=reason))

    # --- the attempt -------------------------------------------------------------------------

    async def execute(self) -> None:
        logs.execution_id.set(str(self.id))
        try:
            try:
                await self._execute()
            except NodeError as exc:
                await self._end_failed(exc.code, exc.message)
            except BROKER_LOST as exc:
                log.warning("workflow run %s: broker lost: %r", self.id, exc)
                await self._end_failed("broker_unavailable", "The message broker became unavailable.")
            except Exception:
                log.exception("workflow run %s failed unexpectedly", self.id)
                await self._end_failed("internal_error", "The workflow run failed unexpectedly.")
            try:
                await jobs.report(self.ctx, self.id, self.tenant_id)
            except Exception:
                log.exception("workflow run %s: could not report its end", self.id)
        finally:
            self.finished.set()

    async def _execute(self) -> None:
        claim = await workflow_store.claim(self.id, self.tenant_id)
        if claim is None:
            log.info("workflow run %s already ended; nothing to do", self.id)
            return
        self.claim, self.attempt = claim, claim.attempt
        if claim.attempt > self.ctx.limits.max_attempts:
            raise NodeError("too_many_attempts", f"Gave up after {claim.attempt - 1} interrupted attempts.")
        self.graph = wf.Graph.of(claim.dag)
        finished: set[str] = set()
        for row in await workflow_store.node_runs(self.id, self.tenant_id):
            if row.item >= 0:
                if row.status == "completed":
                    self.items.setdefault(row.node_id, {})[row.item] = row.output
                    finished.add(f"{row.node_id}[{row.item}]")
            elif row.status in workflow_store.FINAL:
                self.status[row.node_id] = row.status
                self.branch[row.node_id] = row.branch
                self.outputs[row.node_id] = row.output
                if row.status == "completed":
                    finished.add(row.node_id)
        # The calls a dead attempt had in flight are billed once (actors.progress); those of
        # nodes it completed were billed by the nodes themselves (a failed node may not have
        # billed its last call: its progress is billed as before).
        await progress.bill_dead_attempt(
            self.ctx.broker,
            self.ctx.topo,
            self.id,
            self.tenant_id,
            claim.progress,
            before_attempt=claim.attempt,
            finished=finished,
        )
        if claim.attempt > 1:
            await self._publish(
                ExecutionRestarted(
                    execution_id=self.id,
                    session_id=self.session_id,
                    attempt=claim.attempt,
                    reason=f"resumed after {len(self.status)} finished nodes",
                )
            )
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await self._walk()
        finally:
            heartbeat.cancel()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.ctx.limits.heartbeat_s)
            if not await store.heartbeat(self.id, self.tenant_id, self.attempt, self._progress()):
                log.warning("workflow run %s attempt %d lost ownership", self.id, self.attempt)
                await self.cancel("lost")
                return

    def _progress(self) -> str:
        """The node calls in flight with their tokens so far, for the row (`actors.progress`)."""
        return progress.to_column(
            [
                Progress(
                    attempt=self.attempt,
                    call=live.call,
                    agent_id=live.agent_id,
                    model=live.model,
                    provider=live.provider,
                    input_tokens=count_prompt_tokens(live.messages),
                    output_tokens=min(count_tokens(live.coalescer.text), live.max_tokens),
                    node_id=key,
                )
                for key, live in self.live.items()
            ]
        )

    async def _walk(self) -> None:
        """Start every node whose inputs are decided; until nothing runs any more."""
        assert self.graph is not None
        graph = self.graph
        running: dict[str, asyncio.Task[None]] = {}
        while True:
            progressed = True
            while progressed and self.failure is None and self.cancel_reason is None:
                progressed = False
                for node_id in graph.nodes:
                    if node_id in self.status or node_id in running:
                        continue
                    incoming = graph.incoming[node_id]
                    if any(e["source"] not in self.status for e in incoming):
                        continue
                    taken = not incoming or any(
                        wf.edge_taken(e, self.status[e["source"]], self.branch.get(e["source"]))
                        for e in incoming
                    )
                    if taken:
                        running[node_id] = asyncio.create_task(
                            self._node(node_id), name=f"{self.id}.{node_id}"
                        )
                    else:
                        await self._skip(node_id)
                        progressed = True
            if not running:
                break
            done, _ = await asyncio.wait(running.values(), return_when=asyncio.FIRST_COMPLETED)
            for node_id in [n for n, t in running.items() if t in done]:
                task = running.pop(node_id)
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            if self.failure is not None and running:
                await self.cancel("node_failed")
        if self.cancel_reason is not None and self.cancel_reason != "node_failed":
            await self._end_cancelled()
        elif self.failure is not None:
            node_id, code, message = self.failure
            await self._end_failed("node_failed", f"Node {node_id!r} failed ({code}): {message}", node_id)
        else:
            outputs = graph.of_type("output")
            await self._end_completed(self.outputs.get(outputs[0]) if outputs else None)

    async def _skip(self, node_id: str) -> None:
        self.status[node_id], self.branch[node_id], self.outputs[node_id] = "skipped", None, None
        await workflow_store.finished(self.id, self.tenant_id, node_id, -1, status="skipped")
        await self._publish(NodeSkipped(execution_id=self.id, session_id=self.session_id, node_id=node_id))

    # --- one node ------------------------------------------------------------------------------

    async def _node(self, node_id: str) -> None:
        """Run one node to its end (with its retries) and record how it ended."""
        assert self.graph is not None
        node = self.graph.nodes[node_id]
        attempts = int((node.get("retry") or {}).get("max_attempts", 1))
        handled = any(e.get("condition") == "error" for e in self.graph.outgoing[node_id])
        for attempt in range(1, attempts + 1):
            try:
                output, branch, text = await self._attempt_node(node_id, node, attempt)
            except asyncio.CancelledError:
                if self.cancel_reason is None:
                    raise
                await self._node_failed(node_id, -1, "cancelled", "The run was cancelled.", handled=False)
                return
            except (NodeError, ProviderError) as exc:
                if attempt < attempts and self.cancel_reason is None:
                    log.warning(
                        "workflow run %s: node %s attempt %d failed: %s", self.id, node_id, attempt, exc.code
                    )
                    continue
                await self._node_failed(node_id, -1, exc.code, exc.message, handled=handled)
                self.status[node_id], self.branch[node_id], self.outputs[node_id] = "failed", "error", None
                if not handled:
                    self.failure = (node_id, exc.code, exc.message)
                return
            await workflow_store.finished(
                self.id,
                self.tenant_id,
                node_id,
                -1,
                status="completed",
                output=output,
                branch=branch,
                text=text,
            )
            self.status[node_id], self.branch[node_id], self.outputs[node_id] = "completed", branch, output
            await self._publish(
                NodeCompleted(
                    execution_id=self.id,
                    session_id=self.session_id,
                    node_id=node_id,
                    output=output,
                    branch=branch,
                )
            )
            return

    async def _node_failed(self, key: str, item: int, code: str, message: str, *, handled: bool) -> None:
        await workflow_store.finished(
            self.id, self.tenant_id, key.split("[")[0], item, status="failed", error=message
        )
        await self._publish(
            NodeFailed(
                execution_id=self.id,
                session_id=self.session_id,
                node_id=key,
                error=ErrorInfo(code=code, message=message),
                handled=handled,
            )
        )

    async def _attempt_node(
        self, node_id: str, node: dict[str, Any], attempt: int
    ) -> tuple[Any, str | None, str]:
        """(output, branch, text) of one attempt at a node."""
        kind = node["type"]
        if kind == "human":
            return await self._human(node_id, node)
        await workflow_store.started(self.id, self.tenant_id, node_id, -1, self.attempt)
        await self._publish(
            NodeStarted(execution_id=self.id, session_id=self.session_id, node_id=node_id, attempt=attempt)
        )
        match kind:
            case "input":
                return self.claim.input if self.claim else {}, None, ""
            case "condition":
                result = wf.condition_holds(node, self.outputs)
                return {"result": result}, "true" if result else "false", ""
            case "output":
                value = {
                    name: wf.resolve(t, self.outputs) if isinstance(t, str) else t
                    for name, t in node["value"].items()
                }
                return value, None, ""
            case "sort":
                return {"items": _sorted(wf.resolve(node["items"], self.outputs), node)}, None, ""
            case "llm":
                output, text = await self._child(node_id, lambda: self._llm(node_id, node, self.outputs))
                return output, None, text
            case "map":
                return await self._map(node_id, node), None, ""
            case "tool":
                output = await self._child(node_id, lambda: self._tool(node_id, node))
                return output, None, ""
        raise NodeError("invalid_node", f"Unknown node type {kind!r}.")

    async def _child(self, key: str, body: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        """Run `body` as the child actor `actor.<run>.<key>`; cancelled with the run."""
        work: asyncio.Task[Any] = asyncio.ensure_future(body())
        child = NodeActor(f"{self.id}.{key}", work)
        old = self.children.pop(key, None)
        if old is not None:
            await old.stop(drain=False, timeout=5)
        child.start(self.registry)
        self.children[key] = child
        if self.cancel_reason is not None:
            work.cancel()
        try:
            return await work
        finally:
            await child.stop(drain=False, timeout=5)
            if self.children.get(key) is child:
                del self.children[key]

    # --- node kinds ----------------------------------------------------------------------------

    async def _llm(self, key: str, step: dict[str, Any], outputs: dict[str, Any]) -> tuple[Any, str]:
        """One LLM call of a node (or map item): streamed as `node.delta`, billed per node."""
        prompt_text = wf.render(step["prompt_template"], outputs)
        schema = step.get("output_schema")
        if step.get("agent_id"):
            agent = await workflow_store.agent_config(str(step["agent_id"]), self.tenant_id)
            if agent is None:
                raise NodeError(
                    "agent_unavailable", f"Agent {step['agent_id']} no longer exists or is inactive."
                )
            system, config = agent["role"], agent["llm_config"]
            schema = schema or agent["output_schema"]
            agent_id = uuid.UUID(str(step["agent_id"]))
        else:
            system, config, agent_id = (
                str(step.get("system") or DEFAULT_SYSTEM),
                {"model": step["model"]},
                WORKFLOW_AGENT,
            )
            if step.get("max_tokens"):
                config["max_tokens"] = step["max_tokens"]
        messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt_text}]
        resolved = await self.ctx.providers.resolve(config)
        max_tokens = budget.output_bound(config)
        coalescer = Coalescer(self._emitter(key))
        usage: Usage | None = None
        call = self.calls[key] = self.calls.get(key, 0) + 1
        self.live[key] = LiveCall(
            call, agent_id, resolved.model, resolved.provider.name, messages, coalescer, max_tokens
        )

        async def bill(reported: Usage | None = None) -> None:
            """This call's usage: the provider's report, else counted from what streamed."""
            spent = reported or self._counted(messages, coalescer, max_tokens)
            await self._bill(key, call, agent_id, resolved.model, resolved.provider.name, spent)

        try:
            try:
                async with asyncio.timeout(self.ctx.limits.execution_timeout_s):
                    if schema:
                        if resolved.client is None:
                            data, usage = demo_structured(messages, schema)
                        else:
                            result = await structured(
                                messages,
                                schema,
                                model=resolved.model,
                                client=resolved.client,
                                max_tokens=max_tokens,
                            )
                            data, usage = result.data, result.usage
                        await coalescer.add(canonical_json(data))
                        await coalescer.close()
                        output: Any = data
                    else:
                        provider = resolved.provider
                        stream = provider.stream(messages, resolved.model, max_tokens=max_tokens)
                        try:
                            async for piece in stream:
                                if isinstance(piece, Usage):
                                    usage = piece
                                elif isinstance(piece, str):  # no tools are offered to a node: text only
                                    await coalescer.add(piece)
                        finally:
                            await provider.aclose()
                        await coalescer.close()
                        output = {"text": coalescer.text}
            except TimeoutError:
                await bill()
                raise NodeError("timeout", "The node took too long.") from None
            except asyncio.CancelledError:
                coalescer.discard()
                # Tokens already streamed were spent: bill them before stopping.
                await bill()
                raise
            except ProviderError:
                coalescer.discard()
                if coalescer.text:
                    await bill()
                raise
            await bill(usage)
            return output, coalescer.text
        finally:
            self.live.pop(key, None)

    @staticmethod
    def _counted(messages: list[dict[str, Any]], coalescer: Coalescer, max_tokens: int) -> Usage:
        return Usage(
            input_tokens=count_prompt_tokens(messages),
            output_tokens=min(count_tokens(coalescer.text), max_tokens),
            counted=True,
        )

    async def _bill(
        self, key: str, call: int, agent_id: uuid.UUID, model: str, provider: str, usage: Usage
    ) -> None:
        """Publish one node call's usage (confirmed): the run's execution id and the node id.

        The event id is derived from run, attempt, node and call, so a republished event is
        priced once; a node re-run by a later attempt (it had not finished) is a new call."""
        self.usages.append(usage)
        await publish_usage(
            self.ctx.broker,
            self.ctx.topo,
            UsageRecorded(
                event_id=uuid.uuid5(USAGE_NAMESPACE, f"{self.id}:{self.attempt}:{key}:{call}"),
                tenant_id=self.tenant_id,
                execution_id=self.id,
                agent_id=agent_id,
                model=model,
                provider=provider,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                counted=usage.counted,
                node_id=key,
            ),
        )

    async def _map(self, node_id: str, node: dict[str, Any]) -> dict[str, Any]:
        """The step for every item, `concurrency` at a time; finished items are kept."""
        items = wf.resolve(node["items"], self.outputs)
        if not isinstance(items, list):
            raise NodeError("invalid_input", f"{node['items']} is not a list.")
        limit = int(node.get("max_items", wf.DEFAULT_MAP_ITEMS))
        if len(items) > limit:
            raise NodeError("too_many_items", f"{len(items)} items; this map takes at most {limit}.")
        done = self.items.get(node_id, {})
        results: list[Any] = [done.get(i) for i in range(len(items))]
        gate = asyncio.Semaphore(int(node.get("concurrency", 4)))
        step = node["step"]
        attempts = int((node.get("retry") or {}).get("max_attempts", 1))

        async def one(index: int) -> None:
            key = f"{node_id}[{index}]"
            async with gate:
                for attempt in range(1, attempts + 1):
                    await workflow_store.started(self.id, self.tenant_id, node_id, index, self.attempt)
                    await self._publish(
                        NodeStarted(
                            execution_id=self.id, session_id=self.session_id, node_id=key, attempt=attempt
                        )
                    )
                    scope = {**self.outputs, "item": items[index]}
                    try:
                        output, text = await self._child(key, functools.partial(self._llm, key, step, scope))
                    except asyncio.CancelledError:
                        if self.cancel_reason is not None:
                            await self._node_failed(
                                key, index, "cancelled", "The run was cancelled.", handled=False
                            )
                        raise
                    except (NodeError, ProviderError) as exc:
                        await self._node_failed(key, index, exc.code, exc.message, handled=attempt < attempts)
                        if attempt < attempts:
                            continue
                        raise NodeError(exc.code, f"item {index}: {exc.message}") from exc
                    break
            await workflow_store.finished(
                self.id, self.tenant_id, node_id, index, status="completed", output=output, text=text
            )
            results[index] = output
            await self._publish(
                NodeCompleted(execution_id=self.id, session_id=self.session_id, node_id=key, output=output)
            )

        async with asyncio.TaskGroup() as group:
            for index in range(len(items)):
                if index not in done:
                    group.create_task(one(index))
        if self.cancel_reason is not None:  # items stopped by the cancel: the map did not finish
            raise asyncio.CancelledError
        return {"items": results}

    async def _tool(self, node_id: str, node: dict[str, Any]) -> dict[str, Any]:
        """An HTTP call to a host the tenant allowlisted, through the URL guard."""
        if node.get("builtin"):
            runner = BUILTIN_TOOL_RUNNERS.get(str(node["builtin"]))
            if runner is None:
                raise NodeError("unsupported", f"Built-in tool {node['builtin']!r} is not available.")
            return await runner(node, self.outputs, self)
        url = str(node["url"])
        host = httpx.URL(url).host.lower()
        allowed = {h.lower().rstrip(".") for h in (self.claim.tool_hosts if self.claim else [])}
        if host not in allowed:
            raise NodeError(
                "tool_host_not_allowed", f"{host!r} is not on the workspace's tool host allowlist."
            )
        try:
            await urlguard.check_url(url)
        except urlguard.UnsafeUrl as exc:
            raise NodeError(exc.code, str(exc)) from exc
        body = wf.render(node["body_template"], self.outputs) if node.get("body_template") else None
        try:
            async with httpx.AsyncClient(
                transport=urlguard.guarded_transport(), timeout=TOOL_TIMEOUT_S, follow_redirects=False
            ) as client:
                response = await client.request(
                    node.get("method", "POST"),
                    url,
                    content=body.encode() if body is not None else None,
                    headers={"content-type": "application/json"} if body is not None else None,
                )
        except httpx.HTTPError as exc:
            raise NodeError("tool_failed", f"{type(exc).__name__}: {exc}") from exc
        text = response.text[:TOOL_BODY_LIMIT]
        try:
            parsed: Any = response.json()
        except ValueError:
            parsed = None
        if response.status_code >= 400:
            raise NodeError("tool_failed", f"HTTP {response.status_code}")
        if text:
            await self._emitter(node_id)(1, text)
        return {"status": response.status_code, "body": parsed, "text": text}

    async def _human(self, node_id: str, node: dict[str, Any]) -> tuple[Any, str | None, str]:
        """Wait durably for a person's input; the timeout counts from the node's first start."""
        row = await workflow_store.started(
            self.id, self.tenant_id, node_id, -1, self.attempt, status="waiting"
        )
        timeout = float(node.get("timeout_s", wf.DEFAULT_HUMAN_TIMEOUT_S))
        await self._publish(
            NodeWaiting(
                execution_id=self.id,
                session_id=self.session_id,
                node_id=node_id,
                prompt=wf.render(str(node.get("prompt", "")), self.outputs),
                timeout_s=timeout,
            )
        )
        started = row.started_at if isinstance(row.started_at, datetime) else datetime.now(UTC)
        deadline = time.monotonic() + timeout - (datetime.now(UTC) - started).total_seconds()
        while True:
            if self.cancel_reason is not None:
                raise asyncio.CancelledError
            if row.status == "completed":
                return row.output, None, ""
            left = deadline - time.monotonic()
            if left <= 0:
                return {"input": None, "timed_out": True}, "timeout", ""
            self.human_wake.clear()
            try:
                async with asyncio.timeout(min(HUMAN_POLL_S, left)):
                    await self.human_wake.wait()
            except TimeoutError:
                pass
            rows = [
                r
                for r in await workflow_store.node_runs(self.id, self.tenant_id)
                if r.node_id == node_id and r.item == -1
            ]
            if rows:
                row = rows[0]

    # --- endings -------------------------------------------------------------------------------

    async def _finish(
        self,
        status: ExecutionStatus,
        result: dict[str, Any],
        text: str,
        error: str | None,
        message: str | None = None,
    ) -> bool:
        usage = msgspec.to_builtins(_total(self.usages)) if self.usages else None
        outcome = store.Outcome(status, text, result, usage, error, message)
        # A chat session's run leaves its output in the conversation (docs/workflows.md).
        held = await store.finish(self.id, self.tenant_id, self.session_id, self.attempt, outcome)
        if held:
            await budget.release(self.id, self.tenant_id)
        return held is not None

    async def _end_completed(self, output: Any) -> None:
        text = canonical_json(output)
        result = {"output": output, "text": text}
        if await self._finish(ExecutionStatus.COMPLETED, result, text, None, wf.reply_text(output)):
            await self._publish(
                ExecutionCompleted(
                    execution_id=self.id,
                    session_id=self.session_id,
                    text=text,
                    usage=_total(self.usages),
                    output=output,
                )
            )

    async def _end_cancelled(self) -> None:
        if await self._finish(ExecutionStatus.CANCELLED, {"text": ""}, "", None):
            await self._publish(ExecutionCancelled(execution_id=self.id, session_id=self.session_id))

    async def _end_failed(self, code: str, message: str, node_id: str | None = None) -> None:
        if self.attempt == 0:
            return
        result: dict[str, Any] = {"error_code": code, "text": ""}
        if node_id is not None:
            result["node_id"] = node_id
        try:
            if await self._finish(ExecutionStatus.FAILED, result, "", message):
                await self._publish(
                    ExecutionFailed(
                        execution_id=self.id,
                        session_id=self.session_id,
                        error=ErrorInfo(code=code, message=message),
                    )
                )
        except Exception:
            log.exception("workflow run %s: could not record its failure", self.id)

    # --- publishing ----------------------------------------------------------------------------

    def _emitter(self, key: str) -> Callable[[int, str], Awaitable[None]]:
        async def emit(seq: int, text: str) -> None:
            await self._publish(
                NodeDelta(execution_id=self.id, session_id=self.session_id, node_id=key, seq=seq, text=text)
            )

        return emit

    async def _publish(self, event: StreamEvent) -> None:
        await self.ctx.streams.publish(event)


async def _knowledge_search(
    node: dict[str, Any], outputs: dict[str, Any], run: WorkflowRun
) -> dict[str, Any]:
    """`builtin: knowledge_search`: the agent's documents searched for the rendered query, the
    query's embedding billed to the run under this node (docs/workflows.md)."""
    node_id = str(node["id"])
    agent_id = uuid.UUID(str(node["agent_id"]))
    query = wf.render(str(node["query_template"]), outputs).strip()[:2000]
    if not query:
        raise NodeError("invalid_input", "The search query rendered empty.")
    model = get_settings().knowledge.embedding_model
    try:
        embedded = await embeddings.embed(model, [query], knowledge.DIMENSIONS)
    except embeddings.EmbeddingError as exc:
        raise NodeError(exc.code, exc.message) from exc
    await publish_usage(
        run.ctx.broker,
        run.ctx.topo,
        UsageRecorded(
            event_id=uuid.uuid5(USAGE_NAMESPACE, f"{run.id}:{run.attempt}:{node_id}:search"),
            tenant_id=run.tenant_id,
            execution_id=run.id,
            agent_id=agent_id,
            model=model,
            provider=embedded.provider,
            input_tokens=0,
            output_tokens=0,
            embedding_tokens=embedded.tokens,
            node_id=node_id,
        ),
    )
    limit = int(node.get("limit", wf.DEFAULT_SEARCH_RESULTS))
    hits = await knowledge.search(run.tenant_id, query, embedded.vectors[0], agent_id=agent_id, limit=limit)
    text = "\n\n".join(f"[{h.filename} #{h.chunk_index}] {h.content}" for h in hits)
    if text:
        await run._emitter(node_id)(1, text)
    body = {
        "hits": [
            {
                "document_id": str(h.document_id),
                "filename": h.filename,
                "chunk_index": h.chunk_index,
                "content": h.content,
                "score": h.score,
            }
            for h in hits
        ]
    }
    return {"status": 200, "body": body, "text": text}


BUILTIN_TOOL_RUNNERS["knowledge_search"] = _knowledge_search


def _sorted(items: Any, node: dict[str, Any]) -> list[Any]:
    """`items` sorted by field `by` (items without it last), `order` asc or desc."""
    if not isinstance(items, list):
        raise NodeError("invalid_input", f"{node['items']} is not a list.")
    by, reverse = str(node["by"]), node.get("order", "asc") == "desc"
    present = [i for i in items if wf.lookup(i, by) is not None] if items else []
    missing = [i for i in items if wf.lookup(i, by) is None]
    try:
        ordered = sorted(present, key=lambda i: wf.lookup(i, by), reverse=reverse)
    except TypeError:
        ordered = sorted(present, key=lambda i: str(wf.lookup(i, by)), reverse=reverse)
    return ordered + missing


class WorkflowActor(Actor):
    """The actor at `actor.<execution_id>` of a workflow run."""

    def __init__(self, request: ExecutionRequested, ctx: ActorContext) -> None:
        super().__init__(request.execution_id)
        self.run = WorkflowRun(request, ctx)
        self.work: asyncio.Task[None] | None = None

    async def on_start(self) -> None:
        self.run.registry = self._registry
        self.work = asyncio.create_task(self.run.execute(), name=f"{self.address}.work")

    async def on_receive(self, message: Any) -> Any:
        """Cancel: stop every node. Human input: look for it now. Snapshot: nothing live to
        give (node runs are stored; the run socket reads them)."""
        if isinstance(message, CancelExecution):
            await self.run.cancel(message.reason)
        elif isinstance(message, HumanInput):
            self.run.human_wake.set()
        elif isinstance(message, SnapshotRequest):
            return Snapshot(execution_id=self.run.id, attempt=self.run.attempt, after_seq=message.after_seq)
        return None

    async def on_stop(self) -> None:
        if self.work is not None and not self.work.done():
            self.work.cancel()
            await asyncio.wait({self.work})

    async def wait_finished(self) -> None:
        await self.run.finished.wait()
