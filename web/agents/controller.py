"""`/agents`: tenant admins write, every member of the tenant reads."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import Provide

from web.agents.deps import provide_agent_service
from web.agents.schemas import AgentCreate, AgentOut, AgentPatch
from web.agents.service import AgentService
from web.auth.guards import requires_tenant_admin, requires_tenant_member


class AgentController(Controller):
    """CRUD on the tenant's agents."""

    path = "/agents"
    dependencies = {"agent_service": Provide(provide_agent_service)}
    tags = ["agents"]

    @get("/", guards=[requires_tenant_member])
    async def list_agents(self, agent_service: AgentService) -> list[AgentOut]:
        """The tenant's agents, newest first."""
        return msgspec.convert(await agent_service.listing(), list[AgentOut])

    @post("/", guards=[requires_tenant_admin], status_code=201)
    async def create_agent(self, agent_service: AgentService, data: AgentCreate) -> AgentOut:
        """Define an agent: name, system prompt (`role`), model settings, output schema."""
        return msgspec.convert(await agent_service.create(data), AgentOut)

    @get("/{agent_id:uuid}", guards=[requires_tenant_member])
    async def get_agent(self, agent_service: AgentService, agent_id: uuid.UUID) -> AgentOut:
        """One agent of the tenant."""
        return msgspec.convert(await agent_service.get(agent_id), AgentOut)

    @patch("/{agent_id:uuid}", guards=[requires_tenant_admin])
    async def patch_agent(
        self, agent_service: AgentService, agent_id: uuid.UUID, data: AgentPatch
    ) -> AgentOut:
        """Change some fields of an agent."""
        return msgspec.convert(await agent_service.update(agent_id, data), AgentOut)

    @delete("/{agent_id:uuid}", guards=[requires_tenant_admin], status_code=204)
    async def delete_agent(self, agent_service: AgentService, agent_id: uuid.UUID) -> None:
        """Delete an agent with its sessions (executions and the ledger keep their records)."""
        await agent_service.delete(agent_id)
