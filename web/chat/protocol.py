"""The chat WebSocket's frames, limits and close codes (docs/contract.md "WebSocket: chat").

Client frames are validated one by one: a bad frame gets an `error` frame (codes below)
and the socket stays open. Server frames are built from the actors' stream events, one
Struct per frame type, with exactly the contract's fields (plus `attempt`/`reason` on the
added `execution.restarted`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec

from runtime.errors import CodedError
from runtime.messages import (
    DeltaEvent,
    DraftCompleted,
    DraftDelta,
    DraftFailed,
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionRestarted,
    ExecutionStarted,
    HumanJoined,
    HumanLeft,
    InboxChanged,
    NodeCompleted,
    NodeDelta,
    NodeFailed,
    NodeSkipped,
    NodeStarted,
    NodeWaiting,
    SessionEscalated,
    SessionEventBase,
    SessionMessage,
    StreamEvent,
    ToolCalled,
    ToolResulted,
)

AUTH_TIMEOUT_S = 5.0
"""The first frame must authenticate within this time (unless the handshake did)."""
IDLE_TIMEOUT_S = 300.0
"""Closed after this long without a client frame while nothing streams (protocol pings,
sent by the server every 20 s, detect dead peers sooner)."""
MAX_FRAME_BYTES = 64 * 1024
"""Larger client frames get `frame_too_large` (the server drops anything above 1 MiB)."""
MAX_CONTENT_CHARS = 32_000
SEND_BUFFER_FRAMES = 1024
"""Frames queued for one socket; a client that falls this far behind is closed (4008)."""
SNAPSHOT_TIMEOUT_S = 2.0

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
"""A foreign Origin, or a role that has no chat (partner or app admin)."""
CLOSE_NOT_FOUND = 4404
"""The session does not exist or is not the caller's."""
CLOSE_IDLE = 4408
CLOSE_TOO_SLOW = 4008
CLOSE_TRY_AGAIN = 1013  # RFC 6455 "Try Again Later": a backing service is down
"""The client did not read fast enough: its send buffer overflowed."""

ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
Content = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CONTENT_CHARS, pattern=r"^[^\x00]*$")]


class ClientFrame(msgspec.Struct, tag_field="type", forbid_unknown_fields=False):
    """Base of the frames a client sends."""


class MessageFrame(ClientFrame, tag="message"):
    content: Content
    client_id: ClientId


class CancelFrame(ClientFrame, tag="cancel"):
    execution_id: uuid.UUID


class ResumeFrame(ClientFrame, tag="resume"):
    execution_id: uuid.UUID
    after_seq: Annotated[int, msgspec.Meta(ge=0)] = 0
    attempt: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """The attempt whose seq run `after_seq` counts in (its last `execution.restarted`);
    without it, a client past a restart gets the whole current run (web.chat.resume)."""


class PingFrame(ClientFrame, tag="ping"):
    """An application-level keepalive (browsers cannot send protocol pings)."""


class AuthFrame(ClientFrame, tag="auth"):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


class DraftFrame(ClientFrame, tag="draft"):
    """The person holding the session asks the agent for a co-pilot draft of the next reply."""


Frame = MessageFrame | CancelFrame | ResumeFrame | PingFrame | AuthFrame | DraftFrame
KNOWN = {"message", "cancel", "resume", "ping", "auth", "draft"}


class FrameError(CodedError):
    """A client frame we refuse; `code` goes into the error frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def parse(data: str | bytes) -> Frame:
    """Validate one client frame; raises FrameError with a precise code."""
    if len(data) > MAX_FRAME_BYTES:
        raise FrameError("frame_too_large", f"Frames are limited to {MAX_FRAME_BYTES} bytes.")
    try:
        raw: Any = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise FrameError("bad_json", "The frame is not valid JSON.") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise FrameError("invalid_frame", "A frame is a JSON object with a string `type`.")
    if raw["type"] not in KNOWN:
        raise FrameError("unknown_type", f"Unknown frame type {raw['type'][:40]!r}.")
    try:
        return msgspec.convert(raw, Frame)
    except msgspec.ValidationError as exc:
        raise FrameError("invalid_frame", str(exc)) from exc


# --- server frames ---------------------------------------------------------------------


class ServerFrame(msgspec.Struct, tag_field="type", omit_defaults=False):
    """Base of the frames the server sends."""


class Ready(ServerFrame, tag="ready"):
    session_id: uuid.UUID


class Pong(ServerFrame, tag="pong"):
    pass


class Error(ServerFrame, tag="error"):
    code: str
    message: str


class Started(ServerFrame, tag="execution.started"):
    execution_id: uuid.UUID
    message_id: uuid.UUID | None


class Queued(ServerFrame, tag="execution.queued"):
    """The message waits for one of the workspace's execution slots; `position` 1 is next.
    Sent again when the position changes; `execution.started` follows when it gets a slot."""

    execution_id: uuid.UUID
    message_id: uuid.UUID | None
    position: int


class Delta(ServerFrame, tag="delta"):
    execution_id: uuid.UUID
    seq: int
    text: str


class TokenUsage(msgspec.Struct):
    input_tokens: int
    output_tokens: int


class CitationBody(msgspec.Struct):
    document_id: uuid.UUID
    filename: str
    chunk_index: int


class Completed(ServerFrame, tag="execution.completed"):
    execution_id: uuid.UUID
    text: str
    usage: TokenUsage
    citations: list[CitationBody] = []


class ToolCall(ServerFrame, tag="tool.call"):
    """The agent called a tool (docs/knowledge.md "Tools")."""

    execution_id: uuid.UUID
    name: str
    arguments: dict[str, Any]


class ToolResult(ServerFrame, tag="tool.result"):
    execution_id: uuid.UUID
    name: str
    summary: str


class ErrorBody(msgspec.Struct):
    code: str
    message: str


class Failed(ServerFrame, tag="execution.failed"):
    execution_id: uuid.UUID
    error: ErrorBody


class Cancelled(ServerFrame, tag="execution.cancelled"):
    execution_id: uuid.UUID


class Restarted(ServerFrame, tag="execution.restarted"):
    """The reply starts over (another attempt): drop the partial text; seq restarts at 1."""

    execution_id: uuid.UUID
    attempt: int
    reason: str


# --- a person in the conversation (docs/human-in-the-loop.md) ---


class HumanJoinedFrame(ServerFrame, tag="human.joined"):
    session_id: uuid.UUID
    user_id: uuid.UUID
    name: str


class HumanLeftFrame(ServerFrame, tag="human.left"):
    session_id: uuid.UUID
    user_id: uuid.UUID
    name: str


class MessageFrameOut(ServerFrame, tag="message"):
    """A message no actor answers: the person's (`human`) or, while held, the end user's."""

    session_id: uuid.UUID
    message_id: uuid.UUID
    author: Literal["user", "human"]
    name: str | None
    content: str
    client_id: str | None
    created_at: dt.datetime


class EscalatedFrame(ServerFrame, tag="session.escalated"):
    session_id: uuid.UUID
    reason: str


class DraftStartedFrame(ServerFrame, tag="draft.started"):
    """A co-pilot draft is being written (its id names the draft frames that follow)."""

    draft_id: uuid.UUID


class DraftDeltaFrame(ServerFrame, tag="draft.delta"):
    draft_id: uuid.UUID
    seq: int
    text: str


class RunCompleted(ServerFrame, tag="execution.completed"):
    """A workflow run's end: `Completed` plus the run's `output`."""

    execution_id: uuid.UUID
    text: str
    usage: TokenUsage
    output: Any


class NodeStartedFrame(ServerFrame, tag="node.started"):
    execution_id: uuid.UUID
    node_id: str
    attempt: int


class NodeDeltaFrame(ServerFrame, tag="node.delta"):
    execution_id: uuid.UUID
    node_id: str
    seq: int
    text: str


class DraftCompletedFrame(ServerFrame, tag="draft.completed"):
    draft_id: uuid.UUID
    text: str


class DraftFailedFrame(ServerFrame, tag="draft.failed"):
    draft_id: uuid.UUID
    error: ErrorBody


class InboxChangedFrame(ServerFrame, tag="inbox.changed"):
    session_id: uuid.UUID
    hand: str
    held_by: uuid.UUID | None
    reason: str | None
    at: dt.datetime


class NodeCompletedFrame(ServerFrame, tag="node.completed"):
    execution_id: uuid.UUID
    node_id: str
    output: Any
    branch: str | None


class NodeFailedFrame(ServerFrame, tag="node.failed"):
    execution_id: uuid.UUID
    node_id: str
    error: ErrorBody
    handled: bool


class NodeSkippedFrame(ServerFrame, tag="node.skipped"):
    execution_id: uuid.UUID
    node_id: str


class NodeWaitingFrame(ServerFrame, tag="node.waiting"):
    execution_id: uuid.UUID
    node_id: str
    prompt: str
    timeout_s: float


_encoder = msgspec.json.Encoder()


def encode(frame: ServerFrame) -> str:
    """JSON text of a server frame."""
    return _encoder.encode(frame).decode()


def payload(frame: ServerFrame) -> bytes:
    """The UTF-8 JSON of a server frame: what a text frame carries (web/chat/wsprotocol.py)."""
    return _encoder.encode(frame)


def frame_of(event: StreamEvent | SessionEventBase | InboxChanged) -> ServerFrame:
    """The WebSocket frame of an actors' stream event, a session event or an inbox change."""
    match event:
        case HumanJoined():
            return HumanJoinedFrame(event.session_id, event.user_id, event.name)
        case HumanLeft():
            return HumanLeftFrame(event.session_id, event.user_id, event.name)
        case SessionMessage():
            return MessageFrameOut(
                event.session_id,
                event.message_id,
                event.author,
                event.name,
                event.content,
                event.client_id,
                event.created_at,
            )
        case SessionEscalated():
            return EscalatedFrame(event.session_id, event.reason)
        case DraftDelta():
            return DraftDeltaFrame(event.draft_id, event.seq, event.text)
        case DraftCompleted():
            return DraftCompletedFrame(event.draft_id, event.text)
        case DraftFailed():
            return DraftFailedFrame(event.draft_id, ErrorBody(event.error.code, event.error.message))
        case InboxChanged():
            return InboxChangedFrame(event.session_id, event.hand, event.held_by, event.reason, event.at)
        case DeltaEvent():
            return Delta(event.execution_id, event.seq, event.text)
        case ExecutionStarted():
            return Started(event.execution_id, event.message_id)
        case ExecutionCompleted():
            usage = TokenUsage(event.usage.input_tokens, event.usage.output_tokens)
            cited = [CitationBody(c.document_id, c.filename, c.chunk_index) for c in event.citations]
            if event.output is not None:  # a workflow run (docs/workflows.md)
                return RunCompleted(event.execution_id, event.text, usage, event.output)
            return Completed(event.execution_id, event.text, usage, cited)
        case ToolCalled():
            return ToolCall(event.execution_id, event.name, event.arguments)
        case ToolResulted():
            return ToolResult(event.execution_id, event.name, event.summary)
        case ExecutionFailed():
            return Failed(event.execution_id, ErrorBody(event.error.code, event.error.message))
        case ExecutionCancelled():
            return Cancelled(event.execution_id)
        case ExecutionRestarted():
            return Restarted(event.execution_id, event.attempt, event.reason)
        case NodeStarted():
            return NodeStartedFrame(event.execution_id, event.node_id, event.attempt)
        case NodeDelta():
            return NodeDeltaFrame(event.execution_id, event.node_id, event.seq, event.text)
        case NodeCompleted():
            return NodeCompletedFrame(event.execution_id, event.node_id, event.output, event.branch)
        case NodeFailed():
            error = ErrorBody(event.error.code, event.error.message)
            return NodeFailedFrame(event.execution_id, event.node_id, error, event.handled)
        case NodeSkipped():
            return NodeSkippedFrame(event.execution_id, event.node_id)
        case NodeWaiting():
            return NodeWaitingFrame(event.execution_id, event.node_id, event.prompt, event.timeout_s)
    raise TypeError(f"no frame for {type(event).__name__}")
