"""Providers of the agents domain."""

from __future__ import annotations

from web.agents.service import AgentService
from web.auth.identity import Principal


async def provide_agent_service(me: Principal) -> AgentService:
    """The caller's tenant's agents."""
    return AgentService(me)
