"""Every AMQP wire schema: one msgspec Struct per message, shared by publisher and consumer.

Each Struct carries `v` (schema version, bumped on an incompatible change) and a `type`
tag, so a queue or exchange that carries several kinds decodes into a tagged union
(`ControlMessage`, `StreamEvent`). Stream event tags are the chat WebSocket frame types
of docs/contract.md, so the web process relays them without renaming.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar, overload
from uuid import UUID, uuid4

import msgspec

T = TypeVar("T")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (encoded as RFC 3339)."""
    return datetime.now(UTC)


class Wire(msgspec.Struct, kw_only=True, tag_field="type", forbid_unknown_fields=False):
    """Base of every wire message; unknown fields are ignored so a newer sender is readable."""

    v: int = 1


class Usage(msgspec.Struct, kw_only=True):
    """Tokens of one LLM call or one execution."""

    input_tokens: int
    output_tokens: int
    counted: bool = False
    """True when we counted the tokens because the provider reported none."""


class ErrorInfo(msgspec.Struct, kw_only=True):
    """A machine-readable code and a human message."""

    code: str
    message: str


# --- work: the durable executions queue -------------------------------------------------


class ExecutionRequested(Wire, tag="execution.requested", kw_only=True):
    """Start one execution; published by web (or the jobs gateway) to the executions queue."""

    execution_id: UUID
    tenant_id: UUID
    session_id: UUID | None = None
    agent_id: UUID
    attempt: int = 1
    """1 for the first delivery; the actor bumps it when it takes over a redelivery."""
    requested_at: datetime = msgspec.field(default_factory=utcnow)
    input: str = ""
    message_id: UUID | None = None
    """The user message row this execution answers (chat), if any."""
    correlation_id: str | None = None
    reply_to: str | None = None
    """AMQP reply queue of an external job, answered through the default exchange."""
    source: str = "chat"
    """chat | rest | queue: a `queue` execution always reports a `JobResult` when it ends."""
    webhook_url: str | None = None
    """Where the actor asks for a signed webhook when the execution ends (REST jobs)."""
    workflow_id: UUID | None = None
    """Set for a workflow run: a `WorkflowActor` runs it (its DAG is on the execution row)
    and `agent_id` is then `WORKFLOW_AGENT` (no agent answers a run as a whole)."""


WORKFLOW_AGENT = UUID(int=0)
"""`agent_id` of a workflow run's request and of its nodes' usage events when no agent
answers them (an `llm` node on a catalog model); the node's usage carries `node_id`."""


# --- control: routed to one actor by its address `actor.<execution_id>` ------------------


class CancelExecution(Wire, tag="execution.cancel", kw_only=True):
    """Stop an execution now; its actor closes the LLM stream and reports cancelled."""

    execution_id: UUID
    reason: str = "user"
    requested_at: datetime = msgspec.field(default_factory=utcnow)


class HumanInput(Wire, tag="execution.human_input", kw_only=True):
    """A human's answer to an execution waiting for input."""

    execution_id: UUID
    content: str


class SnapshotRequest(Wire, tag="execution.snapshot_request", kw_only=True):
    """Ask the live actor for its deltas after `after_seq` (a reconnecting client's resume).

    Sent with AMQP `reply_to` and `correlation_id`; the actor answers with a `Snapshot`.
    """

    execution_id: UUID
    after_seq: int = 0


ControlMessage = CancelExecution | HumanInput | SnapshotRequest


class Snapshot(Wire, tag="execution.snapshot", kw_only=True):
    """A live actor's answer to `SnapshotRequest`: the deltas `after_seq + 1 .. last_seq`."""

    execution_id: UUID
    attempt: int
    after_seq: int
    texts: list[str] = msgspec.field(default_factory=list)
    """Text of seq `after_seq + 1`, `after_seq + 2`, ... in order."""

    @property
    def last_seq(self) -> int:
        """The highest seq this snapshot covers."""
        return self.after_seq + len(self.texts)


# --- streams: topic exchange, routing key session.<id> or execution.<id> -----------------


class StreamEventBase(Wire, kw_only=True):
    """Fields shared by every stream event."""

    execution_id: UUID
    session_id: UUID | None = None


class DeltaEvent(StreamEventBase, tag="delta", kw_only=True):
    """A piece of reply text; `seq` starts at 1 per execution and has no gaps."""

    seq: int
    text: str


class ExecutionStarted(StreamEventBase, tag="execution.started", kw_only=True):
    """The actor took the execution (sent again, with a higher attempt, after a takeover)."""

    message_id: UUID | None = None
    attempt: int = 1


class Citation(msgspec.Struct, kw_only=True, frozen=True):
    """A document chunk a reply drew on (the `knowledge_search` tool; docs/knowledge.md)."""

    document_id: UUID
    filename: str
    chunk_index: int


class ExecutionCompleted(StreamEventBase, tag="execution.completed", kw_only=True):
    """The full reply and the execution's token usage (and the chunks its tools cited)."""

    text: str
    usage: Usage
    last_seq: int = 0
    citations: list[Citation] = msgspec.field(default_factory=list)
    output: Any = None
    """A workflow run's output (its output node's object); `text` is it as canonical JSON."""


class ToolCalled(StreamEventBase, tag="tool.call", kw_only=True):
    """The model asked for a tool (docs/knowledge.md "Tools"); sent before the tool runs."""

    name: str
    arguments: dict[str, Any] = msgspec.field(default_factory=dict)


class ToolResulted(StreamEventBase, tag="tool.result", kw_only=True):
    """A tool ran; `summary` is one line for people (the model got the whole result)."""

    name: str
    summary: str


class ExecutionFailed(StreamEventBase, tag="execution.failed", kw_only=True):
    """The execution ended with an error."""

    error: ErrorInfo
    last_seq: int = 0


class ExecutionCancelled(StreamEventBase, tag="execution.cancelled", kw_only=True):
    """The execution was cancelled; deltas up to `last_seq` were sent."""

    last_seq: int = 0


class ExecutionRestarted(StreamEventBase, tag="execution.restarted", kw_only=True):
    """Another attempt begins (redelivery or transient error); clients drop partial text."""

    attempt: int
    reason: str = ""


class NodeStarted(StreamEventBase, tag="node.started", kw_only=True):
    """A node of a workflow run started (a `map` item's node id is `node[i]`)."""

    node_id: str
    attempt: int = 1


class NodeDelta(StreamEventBase, tag="node.delta", kw_only=True):
    """A piece of a node's text; `seq` starts at 1 per node (and per attempt of it), no gaps."""

    node_id: str
    seq: int
    text: str


class NodeCompleted(StreamEventBase, tag="node.completed", kw_only=True):
    """A node finished with its output (and `branch`: a condition's verdict, `timeout`)."""

    node_id: str
    output: Any = None
    branch: str | None = None


class NodeFailed(StreamEventBase, tag="node.failed", kw_only=True):
    """A node failed; `handled` when an error branch takes over (else the run fails)."""

    node_id: str
    error: ErrorInfo
    handled: bool = False


class NodeSkipped(StreamEventBase, tag="node.skipped", kw_only=True):
    """A node that will not run: no edge into it was taken."""

    node_id: str


class NodeWaiting(StreamEventBase, tag="node.waiting", kw_only=True):
    """A human node waits for a person's input (until `timeout_s` after it started)."""

    node_id: str
    prompt: str = ""
    timeout_s: float = 0


StreamEvent = (
    DeltaEvent
    | ToolCalled
    | ToolResulted
    | ExecutionStarted
    | ExecutionCompleted
    | ExecutionFailed
    | ExecutionCancelled
    | ExecutionRestarted
    | NodeStarted
    | NodeDelta
    | NodeCompleted
    | NodeFailed
    | NodeSkipped
    | NodeWaiting
)
NODE_EVENTS = (NodeStarted, NodeDelta, NodeCompleted, NodeFailed, NodeSkipped, NodeWaiting)


class BatchedDelta(msgspec.Struct, array_like=True):
    """One delta of a `DeltaBatch`, as a JSON array `[session_id, execution_id, seq, text]`:
    no keys and no tag per delta, and no `DeltaEvent` object per delta on either side."""

    session_id: UUID
    execution_id: UUID
    seq: int
    text: str

    def event(self) -> DeltaEvent:
        """The same delta as the `DeltaEvent` it stands for."""
        return DeltaEvent(
            execution_id=self.execution_id, session_id=self.session_id, seq=self.seq, text=self.text
        )


class DeltaBatch(Wire, tag="delta.batch", kw_only=True):
    """Deltas of several sessions flushed in one tick by one actors process, in publish order.

    Routed to every web relay (`runtime.publishing.DELTA_BATCH_KEY`); a relay hands each
    delta to its session's sockets as if it had come alone (web/chat/relay.py writes them
    without building an event per delta).
    """

    deltas: list[BatchedDelta] = msgspec.field(default_factory=list)
    events: list[DeltaEvent] = msgspec.field(default_factory=list)
    """The earlier form (one tagged `DeltaEvent` object per delta): still read, no longer sent."""

    def all_events(self) -> list[DeltaEvent]:
        """Every delta of the batch as a `DeltaEvent`, in order (either form)."""
        return self.events + [delta.event() for delta in self.deltas]


# --- session events: a person in the conversation (docs/human-in-the-loop.md) -----------
# Routed like stream events (`session.<id>`), between web processes and from actors; their
# tags are the chat WebSocket frame types.


class SessionEventBase(Wire, kw_only=True):
    """Fields shared by every session event."""

    session_id: UUID
    for_user: UUID | None = None
    """Only this user's sockets get the event (a co-pilot draft is for the person only)."""


class HumanJoined(SessionEventBase, tag="human.joined", kw_only=True):
    """A person took the session over: the agent stops answering it."""

    user_id: UUID
    name: str


class HumanLeft(SessionEventBase, tag="human.left", kw_only=True):
    """The person handed the session back: the agent answers again."""

    user_id: UUID
    name: str


class SessionMessage(SessionEventBase, tag="message", kw_only=True):
    """A message no actor answers: the person's (`human`) or the end user's (`user`) while
    a person holds the session."""

    message_id: UUID
    author: Literal["user", "human"]
    name: str | None = None
    content: str
    client_id: str | None = None
    created_at: datetime = msgspec.field(default_factory=utcnow)


class SessionEscalated(SessionEventBase, tag="session.escalated", kw_only=True):
    """The session asks for a person (a rule or the agent's `escalate_to_human` tool)."""

    reason: str


class DraftDelta(SessionEventBase, tag="draft.delta", kw_only=True):
    """A piece of a co-pilot draft (for the person holding the session only)."""

    draft_id: UUID
    seq: int
    text: str


class DraftCompleted(SessionEventBase, tag="draft.completed", kw_only=True):
    """A whole co-pilot draft; the person sends, edits or discards it."""

    draft_id: UUID
    text: str


class DraftFailed(SessionEventBase, tag="draft.failed", kw_only=True):
    """A co-pilot draft that could not be written."""

    draft_id: UUID
    error: ErrorInfo


SessionEvent = (
    HumanJoined | HumanLeft | SessionMessage | SessionEscalated | DraftDelta | DraftCompleted | DraftFailed
)


class InboxChanged(Wire, tag="inbox.changed", kw_only=True):
    """A session entered, changed in or left a tenant's inbox; routing key `inbox.<tenant>`."""

    tenant_id: UUID
    session_id: UUID
    hand: Literal["agent", "escalated", "human"]
    held_by: UUID | None = None
    reason: str | None = None
    at: datetime = msgspec.field(default_factory=utcnow)


class DraftRequested(Wire, tag="draft.requested", kw_only=True):
    """Ask the actors for a co-pilot draft of the next reply of a held session."""

    draft_id: UUID
    tenant_id: UUID
    session_id: UUID
    agent_id: UUID
    for_user: UUID


RelayMessage = StreamEvent | DeltaBatch | SessionEvent | InboxChanged
"""What a web relay's queue carries besides snapshot answers."""


# --- stored results: executions.result_data of an agent execution -----------------------


class StoredResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    """`executions.result_data`: the reply, how it was streamed, and the structured output.

    `seq_ends[i]` is the character offset where delta `seq = i + 1` ended, so a client that
    resumes a finished execution after `after_seq` gets exactly the deltas it missed.
    `output` is the validated JSON of an agent with an output schema (then `text` is that
    JSON, canonically encoded: sorted keys, no spaces).
    """

    text: str = ""
    seq_ends: list[int] = msgspec.field(default_factory=list)
    output: Any = None
    error_code: str | None = None
    citations: list[Citation] = msgspec.field(default_factory=list)

    @classmethod
    def of_chunks(cls, chunks: list[str], **extra: Any) -> StoredResult:
        """The result of a stream that emitted `chunks` as seq 1, 2, ..."""
        ends, total = [], 0
        for chunk in chunks:
            total += len(chunk)
            ends.append(total)
        return cls(text="".join(chunks), seq_ends=ends, **extra)

    def chunks(self) -> list[str]:
        """Texts of the deltas as they were streamed (`chunks()[i]` is seq `i + 1`)."""
        if not self.seq_ends:  # nothing was streamed (a workflow run, a reply of tool calls only)
            return []
        starts = [0, *self.seq_ends[:-1]]
        return [self.text[a:b] for a, b in zip(starts, self.seq_ends, strict=True)]


def canonical_json(value: Any) -> str:
    """One fixed text for a JSON value (sorted keys, compact), whatever JSONB did to its order."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --- metering: the durable usage queue, consumed by the ledger ---------------------------


class UsageRecorded(Wire, tag="usage.recorded", kw_only=True):
    """Tokens of one LLM call; `event_id` makes pricing idempotent across redeliveries."""

    event_id: UUID = msgspec.field(default_factory=uuid4)
    tenant_id: UUID
    execution_id: UUID
    agent_id: UUID
    model: str
    provider: str
    input_tokens: int
    output_tokens: int
    counted: bool = False
    """True when we counted the tokens because the provider reported none."""
    occurred_at: datetime = msgspec.field(default_factory=utcnow)
    embedding_tokens: int = 0
    """Tokens of texts embedded (`/v1/embeddings`), priced as their own resource type."""
    node_id: str | None = None
    """The workflow node (`node` or `node[i]` for a map item) that made the call; then
    `execution_id` is the run's. The ledger keeps it in the entry's metadata."""


class UsageBatch(Wire, tag="usage.batch", kw_only=True):
    """Several `UsageRecorded` in one broker message: the usage events one actors process
    published while its previous usage message waited for the broker's confirm
    (`runtime.publishing.UsageBatcher`). The ledger records each event as if it came alone.
    `traces[i]`, when tracing is on, is the trace context of `events[i]`'s publish."""

    events: list[UsageRecorded]
    traces: list[dict[str, str] | None] = msgspec.field(default_factory=list)


UsageMessage = UsageRecorded | UsageBatch
"""What the usage queue carries: one event, or a batch of them."""


# --- documents: the durable documents queue, consumed by the actors processes ----------


class DocumentIngest(Wire, tag="document.ingest", kw_only=True):
    """Parse, chunk and embed one uploaded document (docs/knowledge.md "Ingestion")."""

    tenant_id: UUID
    document_id: UUID


# --- live usage: topic exchange usage.live, routing key usage.<tenant_id> ---------------


class LiveUsage(Wire, tag="usage", kw_only=True):
    """One committed ledger entry, published by the ledger after commit (ledger/live.py) and
    relayed by web to the usage WebSocket; `type` is "usage" as in the WebSocket frame. Money
    as decimal strings."""

    entry_id: UUID
    tenant_id: UUID
    partner_id: UUID | None
    execution_id: UUID | None
    model: str | None
    resource_type: str
    quantity: Decimal
    unit: str
    platform_cost: Decimal
    tenant_cost: Decimal
    partner_commission: Decimal
    reverses_id: UUID | None = None
    at: datetime


class LiveUsageBatch(Wire, tag="usage.batch", kw_only=True):
    """The live events of one ledger commit for one tenant, in chain order: one AMQP message
    instead of one per entry (ledger/live.py), routed like `LiveUsage` (`usage.<tenant_id>`).
    The web relay hands each entry to the usage sockets as its own `usage` frame, so the
    WebSocket is unchanged; a lone `LiveUsage` message stays valid on the exchange."""

    tenant_id: UUID
    entries: list[LiveUsage]


LiveUsageMessage = LiveUsage | LiveUsageBatch
"""What the usage.live exchange carries."""


# --- external jobs: the jobs exchange in, the results exchange / reply_to out -----------

JOB_INPUT_MAX = 100_000
"""Characters of `JobSubmit.input` (the same bound as POST /executions)."""


class JobSubmit(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of a job published to exchange `hirebuddha.jobs`, routing key `submit`.

    Properties: header `x-api-key` (a tenant API key), optional `reply_to` and
    `correlation_id` (one job per tenant and correlation id: a duplicate is not run twice).
    """

    agent_id: UUID
    input: Annotated[str, msgspec.Meta(min_length=1, max_length=JOB_INPUT_MAX)]
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class WorkflowJobSubmit(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of a job that runs a workflow (same exchange, key and properties as `JobSubmit`):
    `input` is the workflow's input object. Told apart by its `workflow_id`."""

    workflow_id: UUID
    input: dict[str, Any]
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class JobResult(msgspec.Struct, kw_only=True):
    """The answer to a job: to its `reply_to` and to `hirebuddha.results`, key `tenant.<id>`.

    `status`: `completed` (`output` is the agent's reply, or its validated JSON when the
    agent has an output schema), `failed` (it ran and failed or was cancelled; `error`
    says why) or `rejected` (it never ran: bad key, unknown agent, malformed body, ...).
    """

    correlation_id: str | None
    execution_id: UUID | None
    status: Literal["completed", "failed", "rejected"]
    output: Any = None
    usage: Usage | None = None
    error: ErrorInfo | None = None


class WebhookRequested(Wire, tag="webhook.requested", kw_only=True):
    """Deliver the signed result of an ended execution to its `webhook_url`."""

    execution_id: UUID
    tenant_id: UUID
    url: str


class ChannelReplyRequested(Wire, tag="channel.reply.requested", kw_only=True):
    """Send the reply of an ended execution of a Telegram or WhatsApp session back through
    its channel's API (actors.channels; docs/channels.md)."""

    execution_id: UUID
    tenant_id: UUID


# --- codec ------------------------------------------------------------------------------

_encoder = msgspec.json.Encoder()


def encode(message: Any) -> bytes:
    """JSON bytes of a wire message (or any msgspec-encodable value)."""
    return _encoder.encode(message)


@functools.cache
def _decoder(kind: Any) -> msgspec.json.Decoder[Any]:
    # Decoders are cached per type: building one costs far more than decoding a message.
    return msgspec.json.Decoder(kind)


@overload
def decode(data: bytes | str, kind: type[T]) -> T: ...
@overload
def decode(data: bytes | str, kind: Any) -> Any: ...
def decode(data: bytes | str, kind: Any) -> Any:
    """Decode JSON into `kind`, a Struct or a union such as `StreamEvent`.

    Raises `msgspec.ValidationError` (or `msgspec.DecodeError`) on a malformed message,
    so a consumer can dead-letter it with the error as the reason.
    """
    return _decoder(kind).decode(data)
