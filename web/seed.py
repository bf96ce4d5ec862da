"""First-run data: the platform tenant with an app admin, and a demo tenant with a demo agent."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from decimal import Decimal

from runtime import db
from runtime.tables import Agent, AIModel, SystemRate, Tenant, User
from web.auth import service as auth

PLATFORM_TENANT = "Hirebuddha Platform"
DEMO_AGENT_ROLE = (
    "You are Buddha, a calm recruiting assistant. You help hiring teams write job posts, "
    "screen candidates fairly and plan interviews. Answer briefly and concretely."
)


async def create_admin(email: str, password: str, full_name: str = "App Admin") -> uuid.UUID:
    """An app admin in the platform tenant (created on first use)."""
    async with db.scope(system=True):
        tenant = (
            await Tenant.select(Tenant.id)
            .where((Tenant.name == PLATFORM_TENANT) & Tenant.partner.is_null())
            .first()
        )
        tenant_id = tenant["id"] if tenant else uuid.uuid4()
        if tenant is None:
            await Tenant.insert(Tenant(id=tenant_id, name=PLATFORM_TENANT, tier="enterprise"))
        user = await auth.create_user(
            tenant_id=tenant_id,
            email=email,
            password=password,
            full_name=full_name,
            role="app_admin",
            verified=True,
        )
    return user["id"]


DEMO_RATES = {  # per 1M tokens: (platform cost, direct tenants' price)
    "input_tokens": (Decimal("0.10"), Decimal("0.25")),
    "output_tokens": (Decimal("0.40"), Decimal("1.00")),
}
DEMO_EMBED_RATE = (Decimal("0.01"), Decimal("0.02"))
"""`demo-embed` per 1M embedding tokens: documents and knowledge searches (docs/knowledge.md)."""


async def seed_demo_model() -> None:
    """Rates of the built-in demo model, so demo chats show up priced in the ledger (the
    catalog entry itself comes with the migrations: every install has it)."""
    async with db.scope(system=True):
        if not await AIModel.exists().where(AIModel.model_key == "demo-1"):
            await AIModel.insert(AIModel(model_key="demo-1", model_name="Demo (offline)", provider="demo"))
        start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        rates = [("demo-1", resource, rate) for resource, rate in DEMO_RATES.items()]
        rates.append(("demo-embed", "embedding_tokens", DEMO_EMBED_RATE))
        for model, resource, (cost, price) in rates:
            await SystemRate.insert(
                SystemRate(
                    model=model,
                    resource_type=resource,
                    unit="1m_tokens",
                    rate=cost,
                    billing_rate=price,
                    valid_from=start,
                )
            )


async def seed_if_empty() -> dict[str, str] | None:
    """On an empty database: an app admin and a demo workspace; returns the credentials once."""
    async with db.scope(system=True):
        if await User.count() > 0:
            return None
    admin_password = secrets.token_urlsafe(12)
    demo_password = secrets.token_urlsafe(12)
    await create_admin("admin@hirebuddha.local", admin_password)
    _, tenant = await auth.create_workspace(
        "demo@hirebuddha.local", demo_password, "Demo Admin", "Demo Workspace", None, verified=True
    )
    await seed_demo_model()
    async with db.scope(tenant["id"]):
        await Agent.insert(
            Agent(
                tenant=tenant["id"],
                name="Buddha (demo)",
                role=DEMO_AGENT_ROLE,
                llm_config=json.dumps({"provider": "demo", "model": "demo-1"}),
            )
        )
    return {
        "app admin": f"admin@hirebuddha.local / {admin_password}",
        "demo tenant admin": f"demo@hirebuddha.local / {demo_password}",
    }
