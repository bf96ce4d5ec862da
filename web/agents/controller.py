"""`/agents`: tenant admins write, every member of the tenant reads."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.exceptions import ValidationException

from runtime import db
from runtime.tables import Agent
from web import audit
from web.agents.schemas import AgentCreate, AgentOut, AgentPatch
from web.auth.guards import requires_tenant_admin, requires_tenant_member
from web.deps import found, principal, utcnow
from web.models.service import ModelService

COLUMNS = (
    Agent.id,
    Agent.tenant.as_alias("tenant_id"),
    Agent.name,
    Agent.role,
    Agent.llm_config,
    Agent.output_schema,
    Agent.double_texting,
    Agent.is_active,
    Agent.created_at,
    Agent.updated_at,
    Agent.slug,
)


def _out(row: dict[str, Any]) -> AgentOut:
    return msgspec.convert(row, AgentOut)


def _check_schema(schema: dict[str, Any] | None) -> None:
    if schema is not None and schema.get("type") != "object":
        raise ValidationException(
            "output_schema must be a JSON Schema whose type is 'object'.",
            extra=[{"key": "output_schema", "message": "type must be 'object'"}],
        )


def _dump(value: Any) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


class AgentController(Controller):
    """CRUD on the tenant's agents."""

    path = "/agents"
    tags = ["agents"]

    @get("/", guards=[requires_tenant_member])
    async def list_agents(self, request: Request) -> list[AgentOut]:
        """The tenant's agents, newest first."""
        me = principal(request)
        async with db.scope(me.tenant_id):
            rows = (
                await Agent.select(*COLUMNS)
                .where(Agent.tenant == me.tenant_id)
                .order_by(Agent.created_at, ascending=False)
                .output(load_json=True)
            )
        return [_out(r) for r in rows]

    @post("/", guards=[requires_tenant_admin], status_code=201)
    async def create_agent(self, request: Request, data: AgentCreate) -> AgentOut:
        """Define an agent: name, system prompt (`role`), model settings, output schema."""
        me = principal(request)
        _check_schema(data.output_schema)
        await ModelService().check_llm_config(msgspec.to_builtins(data.llm_config))
        agent = Agent(
            tenant=me.tenant_id,
            name=data.name,
            role=data.role,
            llm_config=_dump(data.llm_config),
            output_schema=_dump(data.output_schema),
            double_texting=data.double_texting,
            is_active=data.is_active,
            slug=data.slug,
        )
        async with db.scope(me.tenant_id):
            await Agent.insert(agent)
            await audit.record(
                "agent.create",
                tenant_id=me.tenant_id,
                actor_id=me.id,
                target_type="agent",
                target_id=agent.id,
            )
            row = await Agent.select(*COLUMNS).where(Agent.id == agent.id).first().output(load_json=True)
        return _out(row)

    @get("/{agent_id:uuid}", guards=[requires_tenant_member])
    async def get_agent(self, request: Request, agent_id: uuid.UUID) -> AgentOut:
        """One agent of the tenant."""
        me = principal(request)
        async with db.scope(me.tenant_id):
            row = (
                await Agent.select(*COLUMNS)
                .where((Agent.id == agent_id) & (Agent.tenant == me.tenant_id))
                .first()
                .output(load_json=True)
            )
        return _out(found(row, "Agent"))

    @patch("/{agent_id:uuid}", guards=[requires_tenant_admin])
    async def patch_agent(self, request: Request, agent_id: uuid.UUID, data: AgentPatch) -> AgentOut:
        """Change some fields of an agent."""
        me = principal(request)
        fields = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        if "output_schema" in fields:
            _check_schema(fields["output_schema"])
        if "llm_config" in fields:
            await ModelService().check_llm_config(msgspec.to_builtins(fields["llm_config"]))
        for key in ("llm_config", "output_schema"):
            if key in fields:
                fields[key] = _dump(fields[key])
        where = (Agent.id == agent_id) & (Agent.tenant == me.tenant_id)
        async with db.scope(me.tenant_id):
            found(await Agent.select(Agent.id).where(where).first(), "Agent")
            if fields:
                changes = {getattr(Agent, k): v for k, v in fields.items()}
                await Agent.update({**changes, Agent.updated_at: utcnow()}).where(where)
            await audit.record(
                "agent.update",
                tenant_id=me.tenant_id,
                actor_id=me.id,
                target_type="agent",
                target_id=agent_id,
                fields=sorted(fields),
            )
            row = await Agent.select(*COLUMNS).where(where).first().output(load_json=True)
        return _out(row)

    @delete("/{agent_id:uuid}", guards=[requires_tenant_admin], status_code=204)
    async def delete_agent(self, request: Request, agent_id: uuid.UUID) -> None:
        """Delete an agent with its sessions (executions and the ledger keep their records)."""
        me = principal(request)
        where = (Agent.id == agent_id) & (Agent.tenant == me.tenant_id)
        async with db.scope(me.tenant_id):
            found(await Agent.select(Agent.id).where(where).first(), "Agent")
            await Agent.delete().where(where)
            await audit.record(
                "agent.delete",
                tenant_id=me.tenant_id,
                actor_id=me.id,
                target_type="agent",
                target_id=agent_id,
            )
