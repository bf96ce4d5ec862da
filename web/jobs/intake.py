"""`jobs.submit`: the web process's consumer of external jobs (docs/contract.md "AMQP").

Each message ends one of three ways, never silently: an execution is started (or found,
for a repeated correlation id), or it is rejected (a `rejected` result when there is a
`reply_to`, plus a dead letter with the reason), or an infrastructure error makes it
return to the queue (nack; the queue's delivery limit dead-letters a poison message).
"""

from __future__ import annotations

import logging
import uuid

import msgspec
from faststream.middlewares import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitMessage
from litestar.exceptions import NotFoundException

from runtime import db
from runtime.broker import Topology
from runtime.deadletters import TENANT_HEADER
from runtime.errors import CodedError
from runtime.executions import ENDED, Submission, job_result
from runtime.messages import ErrorInfo, JobResult, JobSubmit, WorkflowJobSubmit, decode
from runtime.publishing import dead_letter, publish_result
from web.auth.api_keys import authenticate_api_key
from web.auth.identity import Principal
from web.executions import bus as execution_bus
from web.executions.bus import Bus
from web.executions.service import Rejected
from web.workflows.service import WorkflowService, queue_run

log = logging.getLogger("hirebuddha.jobs")

MAX_BODY_BYTES = 512 * 1024
"""A job body larger than this is rejected (input is at most 100,000 characters)."""
API_KEY_HEADER = "x-api-key"
JSON_TYPES = ("application/json", "")


class JobRejected(CodedError):
    """A job that cannot run: a code for the result, a reason for the dead letter."""

    def __init__(self, code: str, message: str, tenant_id: uuid.UUID | None = None) -> None:
        super().__init__(code, message)
        self.tenant_id = tenant_id


async def _raw_body(message: RabbitMessage) -> bytes:
    return message.body


def register(broker: RabbitBroker, topo: Topology, bus: Bus | None) -> object:
    """Add the intake subscriber to `broker` (`bus=None`: for the AsyncAPI document only)."""

    subscriber = broker.subscriber(
        topo.jobs_submit,
        topo.jobs,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        no_reply=True,  # the result is published when the execution ends, not on return
        # Hand the handler the raw bytes: FastStream's JSON decoding would fail on a bad
        # body before we could reject it with a reason (and parse a 10 MB body we refuse).
        decoder=_raw_body,
        title="jobs.submit",
        description=(
            "Submit a job: header `x-api-key` (tenant API key), optional `reply_to` and "
            "`correlation_id`, body `JobSubmit`. Answered with a `JobResult`."
        ),
    )

    async def jobs_submit(message: RabbitMessage) -> None:
        assert bus is not None
        await handle(bus, message)

    subscriber(jobs_submit)
    return subscriber


async def handle(bus: Bus, message: RabbitMessage) -> None:
    """Start the job, or reject it with a result and a dead letter."""
    raw = message.raw_message
    try:
        await _start(bus, raw)
    except JobRejected as exc:
        await _reject(bus, message, exc)
    await message.ack()  # no-op when already acked (dead-lettered)


async def _start(bus: Bus, raw: object) -> None:
    body: bytes = raw.body  # type: ignore[attr-defined]
    headers = raw.headers or {}  # type: ignore[attr-defined]
    content_type = (raw.content_type or "").split(";")[0].strip().lower()  # type: ignore[attr-defined]
    if content_type not in JSON_TYPES:
        raise JobRejected(
            "unsupported_content_type", f"content type {content_type!r} is not application/json"
        )
    if len(body) > MAX_BODY_BYTES:
        raise JobRejected("too_large", f"body of {len(body)} bytes exceeds {MAX_BODY_BYTES}")
    key = headers.get(API_KEY_HEADER)
    if isinstance(key, bytes):
        key = key.decode("utf-8", "replace")
    if not key:
        raise JobRejected("unauthorized", f"missing {API_KEY_HEADER} header")
    me = await authenticate_api_key(str(key))
    if me is None:
        raise JobRejected("unauthorized", "invalid, revoked or suspended API key")
    correlation_id = raw.correlation_id or None  # type: ignore[attr-defined]
    reply_to = raw.reply_to or None  # type: ignore[attr-defined]
    try:
        if decode(body, _JobKind).workflow_id is not None:  # a workflow job (docs/workflows.md)
            await _start_workflow(bus, me, decode(body, WorkflowJobSubmit), correlation_id, reply_to)
            return
        job = decode(body, JobSubmit)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise JobRejected("malformed", f"malformed job body: {exc}", me.tenant_id) from exc
    try:
        sent = await execution_bus.dispatch(
            bus,
            me,
            Submission(
                job.agent_id,
                job.input,
                source="queue",
                correlation_id=correlation_id,
                reply_to=reply_to,
                wait_for_slot=True,
            ),
        )
    except Rejected as exc:
        if exc.status >= 500:
            raise  # broker trouble: back to the queue, retried
        code = "unknown_agent" if exc.code == "not_found" else exc.code
        raise JobRejected(code, exc.message, me.tenant_id) from exc
    log.info("jobs.submit %s execution %s (%s)", correlation_id, sent.execution_id, sent.status)
    if sent.duplicate and sent.status in ENDED:
        await _resend(bus, me.tenant_id, sent.execution_id, reply_to)


class _JobKind(msgspec.Struct):
    """Only what tells a workflow job from an agent job: a top-level `workflow_id`."""

    workflow_id: object = None


async def _start_workflow(
    bus: Bus, me: Principal, job: WorkflowJobSubmit, correlation_id: str | None, reply_to: str | None
) -> None:
    """Admit and queue a workflow run for a job (queued over the tenant's limit, as agents' are)."""
    try:
        admitted = await WorkflowService(me).admit(
            job.workflow_id,
            job.input,
            source="queue",
            correlation_id=correlation_id,
            reply_to=reply_to,
            wait_for_slot=True,
        )
        await queue_run(
            bus,
            me,
            job.workflow_id,
            admitted,
            source="queue",
            correlation_id=correlation_id,
            reply_to=reply_to,
        )
    except Rejected as exc:
        if exc.status >= 500:
            raise
        raise JobRejected(
            "unknown_workflow" if exc.code == "not_found" else exc.code, exc.message, me.tenant_id
        ) from exc
    except NotFoundException as exc:
        raise JobRejected("unknown_workflow", "Workflow not found.", me.tenant_id) from exc
    log.info("jobs.submit %s workflow run %s (%s)", correlation_id, admitted["id"], admitted["status"])
    if admitted["duplicate"] and admitted["status"] in ENDED:
        await _resend(bus, me.tenant_id, admitted["id"], reply_to)


async def _resend(bus: Bus, tenant_id: uuid.UUID, execution_id: uuid.UUID, reply_to: str | None) -> None:
    """A repeated job that has ended: its stored result again, to this message's reply_to."""
    async with db.scope(tenant_id):
        row = await db.fetchrow(
            "SELECT id, status, result_data, usage, error_message, correlation_id FROM executions "
            "WHERE id = $1 AND tenant_id = $2",
            execution_id,
            tenant_id,
        )
    if row is not None:
        await publish_result(bus.broker, bus.topo, tenant_id, job_result(row), reply_to)


async def _reject(bus: Bus, message: RabbitMessage, exc: JobRejected) -> None:
    raw = message.raw_message
    log.warning("jobs.reject %s: %s", exc.code, exc.message)
    result = JobResult(
        correlation_id=raw.correlation_id or None,
        execution_id=None,
        status="rejected",
        error=ErrorInfo(code=exc.code, message=exc.message),
    )
    if raw.reply_to or exc.tenant_id is not None:
        # The results exchange only once the tenant is known (its routing key names it).
        if exc.tenant_id is not None:
            await publish_result(bus.broker, bus.topo, exc.tenant_id, result, raw.reply_to or None)
        else:
            await bus.broker.publish(
                msgspec.json.encode(result),
                routing_key=str(raw.reply_to),
                persist=True,
                mandatory=False,
                content_type="application/json",
                correlation_id=result.correlation_id,
            )
    tenant = {TENANT_HEADER: str(exc.tenant_id) if exc.tenant_id else ""}
    await dead_letter(bus.broker, bus.topo, message, f"{exc.code}: {exc.message}", tenant)


async def start(bus: Bus) -> object:
    """Register and start the intake on the bus's (connected) broker; returns the subscriber."""
    subscriber = register(bus.broker, bus.topo, bus)
    await subscriber.start()  # type: ignore[attr-defined]
    return subscriber
