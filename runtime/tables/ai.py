"""Agents, conversations and executions."""

from piccolo.columns import (
    JSONB,
    UUID,
    Array,
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    OnDelete,
    Real,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from runtime.db import APP_DB
from runtime.executions import ExecutionStatus
from runtime.tables.base import created_at, pk, updated_at
from runtime.tables.identity import Tenant, User


class Agent(Table, tablename="agents", db=APP_DB):
    """An AI agent: system prompt (`role`), model settings and optional output schema."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    name = Varchar(length=200)
    slug = Varchar(length=64, null=True, default=None)
    """Unique per tenant; what the OpenAI-compatible API's `model` may name."""
    role = Text()
    llm_config = JSONB()
    output_schema = JSONB(null=True, default=None)
    double_texting = Varchar(length=12, default="enqueue")  # runtime.executions.DoubleTexting
    is_active = Boolean(default=True)
    created_at = created_at()
    updated_at = updated_at()


class Workflow(Table, tablename="workflows", db=APP_DB):
    """A DAG of steps (`runtime.workflows`); `version` goes up with each change of the DAG."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    name = Varchar(length=200)
    description = Text(null=True, default=None)
    dag_structure = JSONB()
    version = Integer(default=1)
    is_active = Boolean(default=True)
    created_at = created_at()
    updated_at = updated_at()


class ChatSession(Table, tablename="sessions", db=APP_DB):
    """A conversation of one user with one agent or one workflow."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    agent = ForeignKey(
        db_column_name="agent_id", references=Agent, null=True, index=True, on_delete=OnDelete.cascade
    )
    workflow = ForeignKey(
        db_column_name="workflow_id", references=Workflow, null=True, on_delete=OnDelete.cascade
    )
    """A session runs one agent or one workflow (exactly one of the two is set)."""
    user = ForeignKey(
        db_column_name="user_id",
        references=User,
        null=True,
        index=True,
        on_delete=OnDelete.set_null,
    )
    title = Varchar(length=200, null=True, default=None)
    hand = Varchar(length=12, default="agent")
    """agent | escalated | human (`runtime.handover.Hand`)."""
    held_by = UUID(null=True, default=None)
    """The person holding the session while `hand` is `human`."""
    held_since = Timestamptz(null=True, default=None)
    escalated_at = Timestamptz(null=True, default=None)
    escalation_reason = Text(null=True, default=None)
    created_at = created_at()
    updated_at = updated_at()


class Execution(Table, tablename="executions", db=APP_DB):
    """One run of an agent: its statuses and transitions are `runtime.executions`."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    agent = ForeignKey(
        db_column_name="agent_id",
        references=Agent,
        null=True,
        index=True,
        on_delete=OnDelete.set_null,
    )
    workflow = ForeignKey(
        db_column_name="workflow_id", references=Workflow, null=True, on_delete=OnDelete.set_null
    )
    workflow_version = Integer(null=True, default=None)
    """The version of the workflow this run started with (its DAG is in `input_data`)."""
    session = ForeignKey(
        db_column_name="session_id",
        references=ChatSession,
        null=True,
        index=True,
        on_delete=OnDelete.cascade,
    )
    user_id = UUID(null=True, default=None)
    source = Varchar(length=10, default="chat")  # chat | rest | queue
    correlation_id = Varchar(length=255, null=True, default=None)
    reply_to = Varchar(length=255, null=True, default=None)
    webhook_url = Text(null=True, default=None)
    status = Varchar(length=12, default=ExecutionStatus.PENDING.value, index=True)
    input_data = JSONB(null=True, default=None)
    result_data = JSONB(null=True, default=None)
    usage = JSONB(null=True, default=None)
    progress = JSONB(null=True, default=None)
    """The running attempt's tokens so far, written at each heartbeat (actors/progress.py)."""
    error_message = Text(null=True, default=None)
    attempt = Integer(default=0)
    started_at = Timestamptz(null=True, default=None)
    completed_at = Timestamptz(null=True, default=None)
    created_at = created_at()
    updated_at = updated_at()


class WorkflowNodeRun(Table, tablename="workflow_node_runs", db=APP_DB):
    """One node (or one `map` item, `item` >= 0) of a workflow run: what a run that takes
    over after a crash need not do again (actors/workflow.py)."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    execution_id = UUID()
    node_id = Varchar(length=64)
    item = Integer(default=-1)
    status = Varchar(length=12)  # running | completed | failed | skipped | waiting
    branch = Varchar(length=16, null=True, default=None)
    output = JSONB(null=True, default=None)
    text = Text(default="")
    error = Text(null=True, default=None)
    attempt = Integer(default=0)
    usage = JSONB(null=True, default=None)
    started_at = Timestamptz()
    completed_at = Timestamptz(null=True, default=None)


class Message(Table, tablename="messages", db=APP_DB):
    """One turn of a conversation; `client_id` makes a user's send idempotent."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    session = ForeignKey(
        db_column_name="session_id", references=ChatSession, index=True, on_delete=OnDelete.cascade
    )
    execution_id = UUID(null=True, default=None)
    role = Varchar(length=12)  # user | assistant | system | human (a person of the tenant)
    content = Text()
    author_id = UUID(null=True, default=None)
    """The person who wrote a `human` message."""
    client_id = Varchar(length=64, null=True, default=None)
    created_at = created_at()


class EscalationRule(Table, tablename="escalation_rules", db=APP_DB):
    """A tenant's escalation rules (`runtime.handover`); one row per tenant."""

    tenant = ForeignKey(
        db_column_name="tenant_id", references=Tenant, primary_key=True, on_delete=OnDelete.cascade
    )
    keywords = Array(base_column=Text())
    failed_answers = Integer(null=True, default=None)
    sentiment_below = Real(null=True, default=None)
    agent_tool = Boolean(default=False)
    """Offer the agents of session chats the `escalate_to_human` tool."""
    updated_at = updated_at()


class Document(Table, tablename="documents", db=APP_DB):
    """An uploaded file for retrieval (docs/knowledge.md): `upload_status` is processing ->
    completed | failed (`error` says why); `content_hash` makes a re-upload idempotent.
    `agent_id` is unused (an agent's documents are `agent_documents`)."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    agent = ForeignKey(db_column_name="agent_id", references=Agent, null=True, on_delete=OnDelete.set_null)
    filename = Varchar(length=255)
    file_type = Varchar(length=32)
    file_size = Varchar(length=32, null=True, default=None)
    upload_status = Varchar(length=20, default="processing")
    content = Bytea(null=True, default=None)
    content_hash = Varchar(length=64, null=True, default=None)
    error = Text(null=True, default=None)
    chunk_count = Integer(default=0)
    embedding_model = Varchar(length=100, null=True, default=None)
    embedding_tokens = Integer(default=0)
    created_at = created_at()
    updated_at = updated_at()


class DocumentChunk(Table, tablename="document_chunks", db=APP_DB):
    """A chunk of a document. Its `embedding vector(N)` and generated `tsv tsvector` columns
    are pgvector and full-text types Piccolo has no column for: runtime/knowledge.py reads and
    writes them in SQL."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, index=True, on_delete=OnDelete.cascade)
    document = ForeignKey(
        db_column_name="document_id", references=Document, index=True, on_delete=OnDelete.cascade
    )
    chunk_index = Integer()
    content = Text()
    created_at = created_at()


class AgentDocument(Table, tablename="agent_documents", db=APP_DB):
    """A document an agent may search with its `knowledge_search` tool."""

    id = pk()
    tenant = ForeignKey(db_column_name="tenant_id", references=Tenant, on_delete=OnDelete.cascade)
    agent = ForeignKey(db_column_name="agent_id", references=Agent, on_delete=OnDelete.cascade)
    document = ForeignKey(db_column_name="document_id", references=Document, on_delete=OnDelete.cascade)
    created_at = created_at()
