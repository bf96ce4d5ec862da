"""Coded errors: the one shape of every refusal and failure the platform reports.

A client never has to parse a message: every error it sees (a REST problem body, a WebSocket
`error` frame, an `execution.failed` frame, a job result, a dead letter's reason) carries a
machine code from `ErrorCode`. The console's list of codes (spa/src/lib/errorCodes.ts) is
generated from this enum (`python -m tools.error_codes`) and a test fails when it is stale, so
a code added here is a code the console knows about. docs/contract.md lists what each means.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Every machine code the platform emits, grouped by where a client meets it."""

    # Admission: a message, REST execution or job refused before it runs.
    RATE_LIMITED = "rate_limited"  # the tenant runs max_concurrency executions already
    SESSION_BUSY = "session_busy"  # double-texting `reject` while the previous one runs
    INSUFFICIENT_CREDIT = "insufficient_credit"
    TENANT_CAP_REACHED = "tenant_cap_reached"
    USER_CAP_REACHED = "user_cap_reached"
    TENANT_INACTIVE = "tenant_inactive"  # the workspace is suspended
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"  # a backing service (broker, database) is down; retry
    # Chat socket frames the server refuses (the socket stays open).
    BAD_JSON = "bad_json"
    FRAME_TOO_LARGE = "frame_too_large"
    INVALID_FRAME = "invalid_frame"
    UNKNOWN_TYPE = "unknown_type"
    ALREADY_AUTHENTICATED = "already_authenticated"
    BAD_FRAME = "bad_frame"  # the live usage socket takes only pings
    # Jobs over AMQP rejected at intake (result `rejected`, dead-lettered with this code).
    UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
    TOO_LARGE = "too_large"  # also REST: a body over HB_MAX_BODY_BYTES
    UNAUTHORIZED = "unauthorized"  # also REST 401
    MALFORMED = "malformed"
    UNKNOWN_AGENT = "unknown_agent"
    UNKNOWN_WORKFLOW = "unknown_workflow"  # a job naming no active workflow of the tenant
    # An execution that ran and failed (`execution.failed`, job result `failed`).
    PROVIDER_UNAVAILABLE = "provider_unavailable"  # connection error, timeout, open breaker
    PROVIDER_RATE_LIMITED = "provider_rate_limited"
    PROVIDER_ERROR = "provider_error"  # a 5xx or an unexpected provider answer
    PROVIDER_REJECTED = "provider_rejected"  # a 4xx: bad key, unknown model, bad request
    PROVIDER_STREAM_BROKEN = "provider_stream_broken"
    UNKNOWN_PROVIDER = "unknown_provider"
    UNKNOWN_MODEL = "unknown_model"  # an agent's model is not in the catalog (any more)
    MODEL_INACTIVE = "model_inactive"  # the app admin deactivated the agent's catalog model
    UNSUPPORTED = "unsupported"  # settings the agent's provider cannot honour
    INVALID_OUTPUT = "invalid_output"  # structured output that fails the agent's schema
    AGENT_UNAVAILABLE = "agent_unavailable"
    TOO_MANY_ATTEMPTS = "too_many_attempts"  # actors processes died under it too often
    TIMEOUT = "timeout"
    PROVIDER_TIMEOUT = "provider_timeout"  # the provider sent nothing for --provider-timeout
    BROKER_UNAVAILABLE = "broker_unavailable"  # RabbitMQ went away while the reply streamed
    ACTOR_LOST = "actor_lost"  # the sweeper failed a run whose actors process vanished
    NOT_STARTED = "not_started"  # the sweeper failed a run no actor ever claimed
    FAILED = "failed"  # a stored failure without a more precise code
    CANCELLED = "cancelled"  # a job result for a cancelled execution
    INTERNAL_ERROR = "internal_error"
    # Workflows (docs/workflows.md): a DAG refused at save time, a run that failed in a node.
    INVALID_WORKFLOW = "invalid_workflow"  # 422 naming each node and field
    INVALID_INPUT = "invalid_input"  # a run's input lacks a field of the input node
    NODE_FAILED = "node_failed"  # a node failed without an error branch: the run fails
    INVALID_NODE = "invalid_node"
    TOO_MANY_ITEMS = "too_many_items"  # a map got more items than its max_items
    TOOL_HOST_NOT_ALLOWED = "tool_host_not_allowed"  # not on the workspace's tool hosts
    TOOL_FAILED = "tool_failed"  # the tool's HTTP call failed or answered >= 400
    NOT_WAITING = "not_waiting"  # input for a human node that is not waiting for it
    # REST only (problem+json `code` of errors that are not refusals of a run).
    VALIDATION_ERROR = "validation_error"
    BAD_REQUEST = "bad_request"
    BAD_VALUE = "bad_value"  # a value PostgreSQL refused (bad characters, out of range)
    FORBIDDEN = "forbidden"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    TOO_MANY_REQUESTS = "too_many_requests"  # login and register throttling


class CodedError(Exception):
    """A refusal or failure with a machine `code`, a human `message` and an HTTP `status`.

    `status` is the HTTP status that goes with it (REST answers with it; None where the
    error never reaches REST). `code` is one of `ErrorCode`: tests/test_error_codes.py finds
    every code written in the source and fails on one the enum lacks. It is not checked at
    run time, where a refusal must never turn into a crash.
    """

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
