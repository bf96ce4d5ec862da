"""Providers of the workflows domain."""

from __future__ import annotations

from web.auth.identity import Principal
from web.workflows.service import WorkflowService


async def provide_workflow_service(me: Principal) -> WorkflowService:
    """The caller's tenant's workflows."""
    return WorkflowService(me)
