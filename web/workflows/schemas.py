"""Workflow DTOs (docs/workflows.md "API")."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec

from web.schemas import Name

Description = Annotated[str, msgspec.Meta(max_length=2000)]
Host = Annotated[str, msgspec.Meta(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.-]+$")]


class Dag(msgspec.Struct, forbid_unknown_fields=False):
    """`{nodes, edges}`; every node and edge setting is checked by `runtime.workflows`."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]


class WorkflowCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    dag_structure: Dag
    description: Description | None = None
    is_active: bool = True


class WorkflowPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Description | None | msgspec.UnsetType = msgspec.UNSET
    dag_structure: Dag | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET


class WorkflowOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    description: str | None
    dag_structure: dict[str, Any]
    version: int
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class RunCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Start a run: `input` is the input node's object."""

    input: dict[str, Any]
    webhook_url: Annotated[str, msgspec.Meta(max_length=2000, pattern=r"^https?://[^\s]+$")] | None = None


class RunAccepted(msgspec.Struct):
    """202 of POST /workflows/{id}/runs (and of a cancel): the run's execution."""

    id: uuid.UUID
    status: str
    workflow_id: uuid.UUID | None = None
    workflow_version: int | None = None


class NodeRunOut(msgspec.Struct):
    node_id: str
    item: int
    status: str
    branch: str | None
    output: Any
    text: str
    error: str | None
    started_at: dt.datetime
    completed_at: dt.datetime | None


class RunOut(msgspec.Struct):
    """A run: its execution and, on GET /workflow-runs/{id}, its node runs."""

    id: uuid.UUID
    workflow_id: uuid.UUID | None
    workflow_version: int | None
    status: str
    input: Any
    result_data: dict[str, Any] | None
    error_message: str | None
    usage: dict[str, Any] | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    nodes: list[NodeRunOut] = msgspec.field(default_factory=list)


class HumanInputIn(msgspec.Struct, forbid_unknown_fields=True):
    """A person's answer to a waiting human node."""

    input: Any


class ToolHosts(msgspec.Struct, forbid_unknown_fields=True):
    """Hosts the workspace's `tool` nodes may call (each URL still passes the URL guard)."""

    hosts: Annotated[list[Host], msgspec.Meta(max_length=50)]
