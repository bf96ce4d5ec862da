"""One attempt at one execution: claim, wait for the session's turn, call the LLM, store, report.

Runs in its own task (started by `AgentActor.on_start`), so the actor's mailbox stays free
for a cancel or a snapshot request while the reply streams.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import msgspec
from faststream.rabbit import RabbitBroker

from actors import progress, store, tools
from actors.breaker import Breakers
from actors.coalesce import Coalescer
from actors.endings import endings
from actors.llm import Providers, Resolved, conversation_turns, prompt
from actors.progress import Progress, usage_event_id
from actors.providers import (
    ChatMessage,
    ProviderError,
    ToolCallRequest,
    TransientProviderError,
    count_prompt_tokens,
    count_tokens,
    demo_structured,
    structured,
)
from ledger import budget
from runtime import logs, metrics, telemetry, trace
from runtime.broker import BROKER_LOST, Topology
from runtime.errors import CodedError
from runtime.executions import CONVERSATIONAL_SOURCES, ExecutionStatus, ToolFacts
from runtime.messages import (
    Citation,
    DeltaEvent,
    ErrorInfo,
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionRequested,
    ExecutionRestarted,
    Snapshot,
    StoredResult,
    StreamEvent,
    ToolCalled,
    ToolResulted,
    Usage,
    UsageRecorded,
    canonical_json,
)
from runtime.publishing import StreamPublisher, publish_usage
from runtime.supervision import SupervisionStrategy

log = logging.getLogger("hirebuddha.actors")

BROKER_UNAVAILABLE = "The message broker became unavailable while the reply streamed; please retry."


@dataclass(frozen=True)
class Limits:
    """Per-process policy of the actors, from `runtime.settings.ActorsSettings` (defaults and
    meaning live there)."""

    execution_timeout_s: float
    heartbeat_s: float
    max_attempts: int
    """Deliveries of one execution (process crashes) before it is failed."""
    provider_retries: int
    """Extra provider calls after a transient error, within one attempt (per provider)."""
    provider_timeout_s: float
    """Longest silence of a provider stream (before its first item or between two) before
    the call is abandoned as `provider_timeout`: bounds a hung provider."""
    turn_poll_s: float = 0.05


@dataclass
class ActorContext:
    """What every agent actor of a process shares."""

    broker: RabbitBroker
    topo: Topology
    streams: StreamPublisher
    providers: Providers
    limits: Limits
    breakers: Breakers
    """Circuit breakers per provider endpoint, shared by the process's executions."""


def _total(usages: list[Usage]) -> Usage:
    return Usage(
        input_tokens=sum(u.input_tokens for u in usages),
        output_tokens=sum(u.output_tokens for u in usages),
        counted=any(u.counted for u in usages),
    )


class ExecutionFailedError(CodedError):
    """The attempt ends `failed` with a code the client sees."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


class _Silence:
    """The watch on a provider stream's silences: one timer per `limit` instead of an
    `asyncio.timeout` per item (a timer scheduled and moved per token; issue 11). The task
    is cancelled when it has waited `limit` for one item; `expired()` then says so."""

    def __init__(self, limit: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.task = asyncio.current_task()
        self.limit = limit
        self.waiting_since: float | None = None
        self._cancelling = self.task.cancelling() if self.task is not None else 0
        self._fired = False
        self._handle = self.loop.call_at(self.loop.time() + limit, self._check)

    def _check(self) -> None:
        since = self.waiting_since
        now = self.loop.time()
        if since is not None and now - since >= self.limit and self.task is not None:
            self._fired = True
            self.task.cancel()
            return
        self._handle = self.loop.call_at((since if since is not None else now) + self.limit, self._check)

    def expired(self) -> bool:
        """The cancel being handled is ours (then it is taken back, as `asyncio.timeout` does)."""
        if not self._fired or self.task is None:
            return False
        self._fired = False
        return self.task.uncancel() <= self._cancelling

    def stop(self) -> None:
        self._handle.cancel()


class _CancelledBeforeCall(Exception):
    """The execution was cancelled before its next provider call was made."""


class ExecutionRun:
    """State of one attempt; `finished` is set when it has ended, whichever way."""

    def __init__(self, request: ExecutionRequested, ctx: ActorContext) -> None:
        self.request, self.ctx = request, ctx
        self.id, self.tenant_id = request.execution_id, request.tenant_id
        self.session_id = request.session_id
        self.attempt = 0
        self.calls = 0
        self.usages: list[Usage] = []
        self.max_tokens = budget.DEFAULT_MAX_OUTPUT_TOKENS
        """The output limit the provider is given (`ledger.budget.output_bound`)."""
        self.prompt_tokens = 0
        """Our count of the prompt's tokens (progress of a call that may die)."""
        self.coalescer = Coalescer(self._emit)
        self.cancel_reason: str | None = None
        self._provider: Any = None
        self._tool_facts: ToolFacts | None = None
        """What the claim read about the agent's built-in tools (`store.Begun.tools`)."""
        self._call: asyncio.Task[Any] | None = None
        self._resolved: Resolved | None = None
        self._tool_calls: list[ToolCallRequest] = []
        """The tool calls the last provider call asked for."""
        self.citations: list[Citation] = []
        """What the tools cited, in order, without repeats (the completed frame's)."""
        self.finished = asyncio.Event()
        self.trace_parent: Any = None
        """The trace context of the execution message (`runtime.telemetry.extract`)."""
        self._last_delta = 0.0
        self._flushed: asyncio.Future[None] | None = None
        """Set by the next delta this run emits (`_stream_once` waits for it to read on)."""
        trace.mark(self.id, "admitted", request.requested_at.timestamp())
        trace.mark(self.id, "consumed")

    # --- control (called from the actor's mailbox) ----------------------------------------

    async def cancel(self, reason: str) -> None:
        """Stop now: close the provider stream (the server sees the client leave)."""
        if self.cancel_reason is not None:
            return
        self.cancel_reason = reason
        if self._provider is not None:
            await self._provider.aclose()
        if self._call is not None:
            self._call.cancel()

    def snapshot(self, after_seq: int) -> Snapshot:
        """The deltas after `after_seq` of the current seq run."""
        return Snapshot(
            execution_id=self.id,
            attempt=self.attempt,
            after_seq=after_seq,
            texts=self.coalescer.after(after_seq),
        )

    # --- the attempt ---------------------------------------------------------------------

    async def execute(self) -> None:
        """Run the attempt to its end; never raises except when cancelled (hand-back).

        After the end (not after a hand-back) the job result, webhook and the tenant's
        queued executions follow (`actors.endings`).
        """
        logs.execution_id.set(str(self.id))  # this task's log lines name the execution
        trace.current.set(self.id)
        attributes = {"hb.execution_id": str(self.id), "hb.tenant_id": str(self.tenant_id)}
        try:
            try:
                async with asyncio.timeout(self.ctx.limits.execution_timeout_s):
                    with telemetry.span("actor.execution", self.trace_parent, attributes):
                        await self._execute()
            except TimeoutError:
                await self._fail("timeout", "The execution took too long.")
            except ExecutionFailedError as exc:
                await self._fail(exc.code, exc.message)
            except ProviderError as exc:  # e.g. the agent's provider is no longer configured
                await self._fail(exc.code, exc.message)
            except BROKER_LOST as exc:
                # A delta or usage event could not be published (RabbitMQ went away): end the
                # execution with a reason the client can act on, rather than leave it running.
                log.warning("execution %s: broker lost while publishing: %r", self.id, exc)
                await self._fail("broker_unavailable", BROKER_UNAVAILABLE)
            except Exception:
                log.exception("execution %s failed unexpectedly", self.id)
                await self._fail("internal_error", "The execution failed unexpectedly.")
            try:  # report, then the tenant's escalation rules (docs/human-in-the-loop.md)
                await endings(self.ctx).settle(self.id, self.tenant_id, self.session_id)
            except Exception:
                log.exception("execution %s: could not report its end", self.id)
        finally:
            self.finished.set()

    async def _execute(self) -> None:
        begun = await self._begin()
        trace.mark(self.id, "claimed")
        if begun is None:
            log.info("execution %s already ended; nothing to do", self.id)
            return
        claim = begun.claim
        self.attempt = claim.attempt
        # The attempt before us died (or was handed back) mid-reply: bill what it streamed.
        await progress.bill_dead_attempt(
            self.ctx.broker, self.ctx.topo, self.id, self.tenant_id, claim.progress, claim.attempt
        )
        if claim.attempt > self.ctx.limits.max_attempts:
            raise ExecutionFailedError(
                "too_many_attempts", f"Gave up after {claim.attempt - 1} interrupted attempts."
            )
        if claim.attempt > 1:
            await self._publish(
                ExecutionRestarted(
                    execution_id=self.id,
                    session_id=self.session_id,
                    attempt=claim.attempt,
                    reason="the previous attempt was interrupted",
                )
            )
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await self._answer(begun)
        finally:
            heartbeat.cancel()

    async def _answer(self, begun: store.Begun) -> None:
        claim, agent = begun.claim, begun.agent
        self._tool_facts = begun.tools
        if agent is None:
            raise ExecutionFailedError("agent_unavailable", "The agent no longer exists.")
        if begun.turns is not None:
            turns = begun.turns
        elif self.request.source in CONVERSATIONAL_SOURCES:  # OpenAI-compatible API, co-pilot drafts
            turns = conversation_turns(claim.input or self.request.input)
        else:
            turns = [{"role": "user", "content": claim.input or self.request.input}]
        messages = prompt(agent.role, turns, await self.ctx.providers.history_budget(agent.llm_config))
        self.prompt_tokens = count_prompt_tokens(messages)
        self._resolved = await self.ctx.providers.resolve(agent.llm_config)
        # Always a limit: admission held the price of this many output tokens at most.
        self.max_tokens = budget.output_bound(agent.llm_config)
        options = {"temperature": agent.llm_config.get("temperature"), "max_tokens": self.max_tokens}
        if agent.output_schema:
            await self._structured(messages, agent.output_schema, options)
        else:
            await self._stream(messages, agent.llm_config, options)

    async def _begin(self) -> store.Begun | None:
        """Wait for the session's turn, then claim and load (one transaction when it is our turn)."""
        # Polling, not a notification: the predecessor may run in another process, and
        # a 50 ms poll on an indexed query costs nothing next to an LLM reply. A cancel
        # stops the wait: the claimed attempt then ends `cancelled` at once.
        while True:
            wait_turn = self.session_id is not None and self.cancel_reason is None
            begun = await store.begin(self.id, self.tenant_id, wait_turn=wait_turn)
            if not isinstance(begun, str):
                return begun
            await asyncio.sleep(self.ctx.limits.turn_poll_s)

    async def _heartbeat(self) -> None:
        loop = asyncio.get_running_loop()
        period = self.ctx.limits.heartbeat_s
        while True:
            # On the process's common ticks (multiples of the period on the loop's clock), never
            # later than a period after the last beat: the executions of a tick share one
            # UPDATE per tenant (`store.Heartbeats`) instead of a transaction each.
            await asyncio.sleep(period - loop.time() % period)
            if not await store.heartbeats().beat(self.id, self.tenant_id, self.attempt, self._progress()):
                log.warning("execution %s attempt %d lost ownership", self.id, self.attempt)
                await self.cancel("lost")
                return

    def _progress(self) -> str | None:
        """The current call's tokens so far, for the row (`actors.progress`); None before a call."""
        if self._resolved is None or self.calls == 0:
            return None
        return progress.to_column(
            Progress(
                attempt=self.attempt,
                call=self.calls,
                agent_id=self.request.agent_id,
                model=self._resolved.model,
                provider=self._resolved.provider.name,
                input_tokens=self.prompt_tokens,
                output_tokens=min(count_tokens(self.coalescer.text), self.max_tokens),
            )
        )

    # --- provider calls ------------------------------------------------------------------

    async def _stream(
        self, messages: list[ChatMessage], llm_config: dict[str, Any], options: dict[str, Any]
    ) -> None:
        """Stream the reply from the agent's provider or, failing that, from its fallback.

        The fallback (`llm_config.fallback`, `{provider, model}`) answers only when the
        primary failed transiently (after its retries, or at once when its circuit is open)
        before sending any text: once text went out, a second provider would repeat it.
        """
        configs = [llm_config]
        if isinstance(llm_config.get("fallback"), dict):
            configs.append(llm_config["fallback"])
        failed: TransientProviderError | None = None
        # The built-in tools answer from the facts the claim read: no round trip.
        offered = await tools.tools_for(self._tool_context())
        for config in configs:
            try:
                await self._converse(list(messages), config, options, offered)
            except _CancelledBeforeCall:
                await self._cancelled(messages)
                return
            except TransientProviderError as exc:
                if failed is not None:  # the fallback failed too: say what both did
                    exc = TransientProviderError(exc.code, f"{failed.message} Fallback: {exc.message}")
                failed = exc
                if self.coalescer.text or self.cancel_reason is not None:
                    break
                if config is not configs[-1]:
                    log.warning("execution %s: %s; trying the fallback provider", self.id, exc.code)
                continue
            except ProviderError as exc:
                raise ExecutionFailedError(exc.code, exc.message) from exc
            if self.cancel_reason is None:
                await self._complete()
            else:
                await self._cancelled(messages)
            return
        assert failed is not None
        raise ExecutionFailedError(failed.code, failed.message) from failed

    async def _converse(
        self,
        messages: list[ChatMessage],
        config: dict[str, Any],
        options: dict[str, Any],
        offered: list[tools.Tool],
    ) -> None:
        """The tool loop: call the provider, run the tools it asks for, call it again with
        their results, until it answers without a tool call. At most `MAX_TOOL_STEPS` calls
        are offered the tools; the one after is not, so the loop always ends with an answer.
        Every call's usage is recorded as it ends (`self._resolved` names its provider)."""
        for step in range(tools.MAX_TOOL_STEPS + 1):
            offer = offered if step < tools.MAX_TOOL_STEPS else []
            call_options = {**options, "tools": [tools.spec(t) for t in offer]} if offer else options
            before = len(self.coalescer.text)
            usage = await self._call_provider(messages, config, call_options)
            await self._record(usage or self._counted(messages))
            calls, self._tool_calls = self._tool_calls, []
            if not calls or self.cancel_reason is not None:
                return
            said = self.coalescer.text[before:]
            messages.append(
                {
                    "role": "assistant",
                    "content": said or None,
                    "tool_calls": [
                        {
                            "id": c.id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments},
                        }
                        for c in calls
                    ],
                }
            )
            for call in calls:
                content = await self._run_tool(call, {t.name: t for t in offer})
                messages.append({"role": "tool", "tool_call_id": call.id, "content": content})

    async def _run_tool(self, call: ToolCallRequest, offered: dict[str, tools.Tool]) -> str:
        """Run one tool call between frames `tool.call` and `tool.result`; returns what the
        model reads. Bad arguments, an unknown tool or a `ToolError` are told to the model."""
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError:
            arguments = None
        shown = arguments if isinstance(arguments, dict) else {"raw": call.arguments[:500]}
        await self._publish(
            ToolCalled(execution_id=self.id, session_id=self.session_id, name=call.name, arguments=shown)
        )
        tool = offered.get(call.name)
        if tool is None:
            content = summary = f"error: there is no tool {call.name!r}"
        elif not isinstance(arguments, dict):
            content = summary = "error: the arguments are not a JSON object"
        else:
            try:
                output = await tool.run(self._tool_context(), arguments)
            except tools.ToolError as exc:
                content = summary = f"error: {exc}"
            else:
                content, summary = output.content, output.summary
                self.citations += [c for c in output.citations if c not in self.citations]
        await self._publish(
            ToolResulted(
                execution_id=self.id, session_id=self.session_id, name=call.name, summary=summary[:300]
            )
        )
        return content

    def _tool_context(self) -> tools.ToolContext:
        return tools.ToolContext(
            tenant_id=self.tenant_id,
            agent_id=self.request.agent_id,
            execution_id=self.id,
            session_id=self.session_id,
            providers=self.ctx.providers,
            meter_embedding=self._meter_embedding,
            streams=self.ctx.streams,
            facts=self._tool_facts,
        )

    async def _meter_embedding(self, model: str, provider: str, tokens: int) -> None:
        """Bill a tool's embedding call as a usage event of this execution (its own call
        number, so the event id is distinct and stable across redeliveries of the event)."""
        self.calls += 1
        await publish_usage(
            self.ctx.broker,
            self.ctx.topo,
            UsageRecorded(
                event_id=usage_event_id(self.id, self.attempt, self.calls),
                tenant_id=self.tenant_id,
                execution_id=self.id,
                agent_id=self.request.agent_id,
                model=model,
                provider=provider,
                input_tokens=0,
                output_tokens=0,
                embedding_tokens=tokens,
            ),
        )

    async def _call_provider(
        self, messages: list[ChatMessage], config: dict[str, Any], options: dict[str, Any]
    ) -> Usage | None:
        """One provider's reply, with bounded retries; returns its usage (None: not reported).

        A transient failure (5xx, 429, connection error, `provider_timeout`, broken or
        malformed stream) before any text is retried `provider_retries` times after an
        exponential backoff with full jitter (`SupervisionStrategy.backoff`), then raised
        with a message naming the provider, the attempts and the last cause. A failure after
        text went out fails the execution at once (`ExecutionFailedError`): a retry would
        stream the reply again. Every call passes the provider's circuit breaker; an open
        circuit raises `provider_unavailable` without a request and without retrying.
        """
        backoff = SupervisionStrategy()
        attempts = self.ctx.limits.provider_retries + 1
        for call in range(1, attempts + 1):
            if self.cancel_reason is not None:
                raise _CancelledBeforeCall
            # A fresh provider per call: the previous one may be closed.
            self._resolved = await self.ctx.providers.resolve(config)
            name = self._resolved.provider.name
            breaker = self.ctx.breakers.get(self._resolved.key, name)
            try:
                breaker.before_call()
            except TransientProviderError as exc:
                metrics.PROVIDER_ERRORS.labels(metrics.provider_label(name), exc.code).inc()
                raise
            metrics.PROVIDER_CALLS.labels(metrics.provider_label(name)).inc()
            try:
                with telemetry.span("provider.call", attributes={"hb.provider": name, "hb.call": call}):
                    usage = await self._stream_once(messages, options)
            except TransientProviderError as exc:
                metrics.PROVIDER_ERRORS.labels(metrics.provider_label(name), exc.code).inc()
                breaker.failure(f"{exc.code}: {exc.message}")
                if self.coalescer.text:  # the broken call produced tokens: they were spent
                    await self._record(self._counted(messages))
                    raise ExecutionFailedError(
                        exc.code, f"Provider {name!r} failed mid-reply ({exc.code}): {exc.message}"
                    ) from exc
                if call == attempts or self.cancel_reason is not None:
                    raise TransientProviderError(
                        exc.code,
                        f"Provider {name!r} failed {call} time(s) ({exc.code}): {exc.message}",
                        exc.status,
                    ) from exc
                log.warning("execution %s: %s call %d: %s; retrying", self.id, name, call, exc.code)
                await self._restart_run(exc.code)
                await asyncio.sleep(backoff.backoff(call))
                continue
            except BaseException as exc:
                if isinstance(exc, ProviderError):
                    metrics.PROVIDER_ERRORS.labels(metrics.provider_label(name), exc.code).inc()
                breaker.release()  # permanent error or cancellation: says nothing of health
                raise
            breaker.success()
            return usage
        raise AssertionError("unreachable: the last call returns or raises")

    async def _stream_once(self, messages: list[ChatMessage], options: dict[str, Any]) -> Usage | None:
        assert self._resolved is not None
        self._provider = self._resolved.provider
        self.calls += 1
        self._tool_calls = []
        usage: Usage | None = None
        stream = self._provider.stream(messages, self._resolved.model, **options)
        limit = self.ctx.limits.provider_timeout_s
        # Each item (the first one included) must come within `limit`: a hung provider
        # (no bytes, connection open) ends as a transient `provider_timeout`. Cancelling
        # the pending read closes the provider's HTTP stream (its `finally`).
        silence = _Silence(limit)
        # Text that waits for the coalescer's tick anyway need not be read before it: after
        # such a piece the next read waits for that delta to leave, and takes everything
        # that came meanwhile at once (one wake-up of this task and one pass through the
        # provider's parser per tick instead of per token; issue 11). The first piece, and
        # anything after an emitted one, is read at once. The wait counts as silence, so a
        # tick that never came would still end as `provider_timeout`.
        loop = silence.loop
        gate: asyncio.Future[None] | None = None
        try:
            while True:
                try:
                    silence.waiting_since = loop.time()
                    if gate is not None:
                        await gate
                        gate = None
                    item = await anext(stream)
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    if silence.expired():
                        raise TransientProviderError(
                            "provider_timeout", f"no data from the provider for {limit:g} s"
                        ) from None
                    raise
                finally:
                    silence.waiting_since = None
                if isinstance(item, Usage):
                    usage = item
                elif isinstance(item, ToolCallRequest):
                    self._tool_calls.append(item)
                else:
                    seq = self.coalescer.seq
                    await self.coalescer.add(item)
                    if item and self.coalescer.seq == seq:  # pending until the tick
                        gate = self._flushed = loop.create_future()
        finally:
            self._flushed = None
            silence.stop()
        await self.coalescer.close()
        return usage

    async def _restart_run(self, reason: str) -> None:
        """Abandon the partial reply of a failed call: clients drop it, seq starts again."""
        had_deltas = self.coalescer.seq > 0
        self.coalescer.discard()
        self.coalescer = Coalescer(self._emit)
        if had_deltas:
            await self._publish(
                ExecutionRestarted(
                    execution_id=self.id, session_id=self.session_id, attempt=self.attempt, reason=reason
                )
            )

    async def _structured(
        self, messages: list[ChatMessage], schema: dict[str, Any], options: dict[str, Any]
    ) -> None:
        assert self._resolved is not None
        if self._resolved.client is None:  # the offline demo: a schema-valid object of the prompt
            data, usage = demo_structured(messages, schema)
            self.calls += 1
            await self.coalescer.add(canonical_json(data))
            await self.coalescer.close()
            await self._record(usage)
            await self._complete(output=data)
            return
        self.calls += 1
        self._call = asyncio.create_task(
            structured(messages, schema, model=self._resolved.model, client=self._resolved.client, **options)
        )
        try:
            result = await self._call
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self.cancel_reason is None or (current is not None and current.cancelling()):
                raise
            await self._record(self._counted(messages))
            await self._cancelled(messages)
            return
        except ProviderError as exc:
            raise ExecutionFailedError(exc.code, exc.message) from exc
        await self.coalescer.add(canonical_json(result.data))
        await self.coalescer.close()
        await self._record(result.usage)
        await self._complete(output=result.data)

    def _counted(self, messages: list[ChatMessage]) -> Usage:
        """Usage when the provider gave none (cancelled, broken stream): we count.

        Output is capped at the limit the provider was given: it produced no more than that,
        whatever our approximate count of its text says (and admission held no more).
        """
        return Usage(
            input_tokens=count_prompt_tokens(messages),
            output_tokens=min(count_tokens(self.coalescer.text), self.max_tokens),
            counted=True,
        )

    async def _record(self, usage: Usage) -> None:
        """Publish the usage of the provider call just made (confirmed, persistent)."""
        self.usages.append(usage)
        assert self._resolved is not None
        await publish_usage(
            self.ctx.broker,
            self.ctx.topo,
            UsageRecorded(
                event_id=usage_event_id(self.id, self.attempt, self.calls),
                tenant_id=self.tenant_id,
                execution_id=self.id,
                agent_id=self.request.agent_id,
                model=self._resolved.model,
                provider=self._resolved.provider.name,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                counted=usage.counted,
            ),
        )

    # --- endings -------------------------------------------------------------------------

    def _result(self, **extra: Any) -> StoredResult:
        return StoredResult.of_chunks(list(self.coalescer.chunks), **extra)

    async def _store(self, status: ExecutionStatus, result: StoredResult, error: str | None = None) -> bool:
        usage = msgspec.to_builtins(_total(self.usages)) if self.usages else None
        text = result.text if status in (ExecutionStatus.COMPLETED, ExecutionStatus.CANCELLED) else ""
        outcome = store.Outcome(status, text, msgspec.to_builtins(result), usage, error)
        # One statement with the tenant's other ends of this moment (`store.finish`, issue 11).
        held = await store.finish(self.id, self.tenant_id, self.session_id, self.attempt, outcome)
        if held is None:
            log.warning("execution %s attempt %d was taken over; result dropped", self.id, self.attempt)
            return False
        if held:
            # Shrink the budget hold to what was used; the ledger settles the rest as it records.
            await budget.release(self.id, self.tenant_id)
        metrics.EXECUTIONS.labels(status.value).inc()
        return True

    async def _complete(self, output: Any = None) -> None:
        result = self._result(output=output, citations=self.citations)
        if await self._store(ExecutionStatus.COMPLETED, result):
            await self._publish(
                ExecutionCompleted(
                    execution_id=self.id,
                    session_id=self.session_id,
                    text=result.text,
                    usage=_total(self.usages),
                    last_seq=self.coalescer.seq,
                    citations=self.citations,
                )
            )

    async def _cancelled(self, messages: list[ChatMessage]) -> None:
        if await self._store(ExecutionStatus.CANCELLED, self._result()):
            await self._publish(
                ExecutionCancelled(
                    execution_id=self.id, session_id=self.session_id, last_seq=self.coalescer.seq
                )
            )

    async def _fail(self, code: str, message: str) -> None:
        if self.attempt == 0:
            return  # never claimed: nothing of ours to end
        self.coalescer.discard()
        try:
            if await self._store(ExecutionStatus.FAILED, self._result(error_code=code), message):
                await self._publish(
                    ExecutionFailed(
                        execution_id=self.id,
                        session_id=self.session_id,
                        error=ErrorInfo(code=code, message=message),
                        last_seq=self.coalescer.seq,
                    )
                )
        except Exception:
            log.exception("execution %s: could not record its failure", self.id)

    # --- publishing ----------------------------------------------------------------------

    async def _emit(self, seq: int, text: str) -> None:
        flushed = self._flushed
        if flushed is not None and not flushed.done():
            flushed.set_result(None)
        now = time.monotonic()
        if not self._last_delta:  # the attempt's first delta
            waited = time.time() - self.request.requested_at.timestamp()
            model = self._resolved.model if self._resolved is not None else ""
            metrics.FIRST_TOKEN.labels(metrics.model_label(model)).observe(max(waited, 0.0))
        elif self._last_delta:
            metrics.DELTA_GAP.observe(now - self._last_delta)
        self._last_delta = now
        await self._publish(DeltaEvent(execution_id=self.id, session_id=self.session_id, seq=seq, text=text))

    async def _publish(self, event: StreamEvent) -> None:
        await self.ctx.streams.publish(event)
