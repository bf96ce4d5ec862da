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
    REQUEST_QUOTA_EXCEEDED = "request_quota_exceeded"  # the tier's requests per hour are used up
    API_QUOTA_EXCEEDED = "api_quota_exceeded"  # the tier's API calls per hour are used up (REST)
    QUEUE_WAIT_EXCEEDED = "queue_wait_exceeded"  # a chat message waited for a slot too long
    SESSION_BUSY = "session_busy"  # double-texting `reject` while the previous one runs
    INSUFFICIENT_CREDIT = "insufficient_credit"
    TENANT_CAP_REACHED = "tenant_cap_reached"
    USER_CAP_REACHED = "user_cap_reached"
    TENANT_INACTIVE = "tenant_inactive"  # the workspace is missing or not active (not suspended)
    TENANT_SUSPENDED = "tenant_suspended"  # suspended (unpaid invoice or by an admin): 403, reads still work
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
    # Human in the loop (docs/human-in-the-loop.md).
    SESSION_HELD = "session_held"  # another person holds the session (takeover, a message)
    NOT_HOLDER = "not_holder"  # hand back or write as a person without holding the session
    # Identity (docs/identity.md).
    INVALID_TOKEN = "invalid_token"  # a mailed link that is unknown, expired, used or revoked
    INVALID_MFA_CODE = "invalid_mfa_code"  # a wrong, replayed or used TOTP or recovery code
    MFA_REQUIRED = "mfa_required"  # the tenant requires a second factor the caller lacks
    PASSKEY_REFUSED = "passkey_refused"  # a passkey ceremony failed: unknown, foreign, cloned or replayed
    OIDC_STATE_INVALID = "oidc_state_invalid"  # an OIDC callback whose state is unknown, used or foreign
    OIDC_FAILED = "oidc_failed"  # the provider refused the code, or its ID token failed validation
    OIDC_EMAIL_UNVERIFIED = "oidc_email_unverified"  # the provider does not vouch for the email
    OIDC_UNAVAILABLE = "oidc_unavailable"  # discovery, JWKS or token endpoint unreachable
    UNSUPPORTED_DOCUMENT_TYPE = "unsupported_document_type"  # an upload that is no PDF/DOCX/HTML/MD/text
    # Channels and white-label (docs/channels.md).
    WIDGET_ORIGIN_REFUSED = "widget_origin_refused"  # a widget on a page not in its allowed origins
    VISITOR_RATE_LIMITED = "visitor_rate_limited"  # a widget visitor (or all of a widget's) over its rate
    BRAND_CONTRAST = "brand_contrast"  # brand or widget colours below WCAG AA contrast
    CHANNEL_SIGNATURE_INVALID = "channel_signature_invalid"  # a forged Telegram/WhatsApp webhook
    CHANNEL_VERIFY_FAILED = "channel_verify_failed"  # WhatsApp's GET verify with a wrong token
    # Billing (docs/billing.md).
    BILLING_UNAVAILABLE = "billing_unavailable"  # Stripe is not configured or not answering; retry
    PAYMENT_DECLINED = "payment_declined"  # the card was refused (Stripe's code in the message)
    NO_PAYMENT_METHOD = "no_payment_method"  # the tenant has no default payment method
    WEBHOOK_SIGNATURE_INVALID = "webhook_signature_invalid"  # a Stripe webhook not signed by Stripe


SUSPENDED_MESSAGE = (
    "This workspace is suspended: agents do not run until it is restored. A tenant admin restores it "
    "at once by paying the open invoice in Billing (if your partner or the platform suspended it, ask them)."
)
"""The reason of every `tenant_suspended` refusal: what happened and how to undo it."""


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
