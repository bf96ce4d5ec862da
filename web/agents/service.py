"""Agents of a tenant: its admins define them, every member reads them."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar.exceptions import NotFoundException, ValidationException

from runtime import db
from runtime.tables import Agent
from web import audit
from web.agents import repository as repo
from web.agents.schemas import AgentCreate, AgentPatch
from web.auth.identity import Principal
from web.deps import found, utcnow
from web.models.service import ModelService


def check_output_schema(schema: dict[str, Any] | None) -> None:
    """An output schema must describe a JSON object (instructor answers with one)."""
    if schema is not None and schema.get("type") != "object":
        raise ValidationException(
            "output_schema must be a JSON Schema whose type is 'object'.",
            extra=[{"key": "output_schema", "message": "type must be 'object'"}],
        )


def _dump(value: Any) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


class AgentService:
    """The caller's tenant's agents; every query runs in its scope and filters by it."""

    def __init__(self, me: Principal) -> None:
        self.me, self.tenant_id = me, me.tenant_id

    async def _audit(self, action: str, agent_id: uuid.UUID, **details: Any) -> None:
        await audit.record(
            action,
            tenant_id=self.tenant_id,
            actor_id=self.me.id,
            target_type="agent",
            target_id=agent_id,
            **details,
        )

    async def _exists(self, agent_id: uuid.UUID) -> None:
        if not await repo.exists(self.tenant_id, agent_id):
            raise NotFoundException("Agent not found.")

    async def listing(self) -> list[dict[str, Any]]:
        """The tenant's agents, newest first."""
        async with db.scope(self.tenant_id):
            return await repo.agents(self.tenant_id)

    async def get(self, agent_id: uuid.UUID) -> dict[str, Any]:
        """One agent of the tenant (404 for another tenant's)."""
        async with db.scope(self.tenant_id):
            return found(await repo.agent(self.tenant_id, agent_id), "Agent")

    async def create(self, data: AgentCreate) -> dict[str, Any]:
        """Define an agent."""
        check_output_schema(data.output_schema)
        await ModelService().check_llm_config(msgspec.to_builtins(data.llm_config))
        agent = Agent(
            tenant=self.tenant_id,
            name=data.name,
            role=data.role,
            llm_config=_dump(data.llm_config),
            output_schema=_dump(data.output_schema),
            double_texting=data.double_texting,
            is_active=data.is_active,
            slug=data.slug,
        )
        async with db.scope(self.tenant_id):
            await repo.insert(agent)
            await self._audit("agent.create", agent.id)
            return found(await repo.agent(self.tenant_id, agent.id), "Agent")

    async def update(self, agent_id: uuid.UUID, data: AgentPatch) -> dict[str, Any]:
        """Change the fields the patch gives."""
        fields = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        if "output_schema" in fields:
            check_output_schema(fields["output_schema"])
        if "llm_config" in fields:
            await ModelService().check_llm_config(msgspec.to_builtins(fields["llm_config"]))
        for key in ("llm_config", "output_schema"):
            if key in fields:
                fields[key] = _dump(fields[key])
        async with db.scope(self.tenant_id):
            await self._exists(agent_id)
            await repo.update(self.tenant_id, agent_id, fields, utcnow())
            await self._audit("agent.update", agent_id, fields=sorted(fields))
            return found(await repo.agent(self.tenant_id, agent_id), "Agent")

    async def delete(self, agent_id: uuid.UUID) -> None:
        """Delete an agent with its sessions."""
        async with db.scope(self.tenant_id):
            await self._exists(agent_id)
            await repo.delete(self.tenant_id, agent_id)
            await self._audit("agent.delete", agent_id)
