"""First-run data: the platform tenant with an app admin, and a demo tenant with a demo agent."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from decimal import Decimal

from runtime import db
from runtime.tables import Agent, AIModel, SystemRate, Tenant, User, Workflow
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


JD_WRITER_ROLE = (
    "You write clear, inclusive job descriptions: a short summary, responsibilities, "
    "requirements (must-have and nice-to-have) and what the company offers. No jargon, no "
    "gendered language, concrete about the work."
)

FIT_SCHEMA = {
    "type": "object",
    "title": "CandidateFit",
    "properties": {
        "candidate": {"type": "string", "description": "the candidate's name"},
        "fit_index": {"type": "integer", "minimum": 0, "maximum": 100, "description": "0 no fit, 100 ideal"},
        "strengths": {"type": "array", "items": {"type": "string"}},
        "gaps": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["candidate", "fit_index", "strengths", "gaps"],
}


def candidate_fit_dag(model: str = "demo-1") -> dict:
    """The "Candidate fit ranking" workflow: every candidate rated against the job
    description (structured output), sorted by fit, then summarized."""
    return {
        "nodes": [
            {
                "id": "input",
                "type": "input",
                "fields": [
                    {"name": "job_description", "type": "string"},
                    {"name": "candidates", "type": "array"},
                ],
                "position": {"x": 0, "y": 120},
            },
            {
                "id": "rate",
                "type": "map",
                "items": "{input.candidates}",
                "concurrency": 4,
                "max_items": 20,
                "step": {
                    "model": model,
                    "system": "You assess how well a candidate fits a job. Be fair and specific.",
                    "prompt_template": (
                        "Rate this candidate against the job.\nCandidate: {item.name}\n"
                        "Strengths: {item.skills}\nGaps: {item.missing}\n"
                        "Profile: {item.summary}\n\nJob description:\n{input.job_description}"
                    ),
                    "output_schema": FIT_SCHEMA,
                },
                "position": {"x": 260, "y": 120},
            },
            {
                "id": "rank",
                "type": "sort",
                "items": "{rate.items}",
                "by": "fit_index",
                "order": "desc",
                "position": {"x": 520, "y": 120},
            },
            {
                "id": "summary",
                "type": "llm",
                "model": model,
                "prompt_template": (
                    "Summarize this ranking for the hiring manager in three sentences: {rank.items}"
                ),
                "position": {"x": 780, "y": 60},
            },
            {
                "id": "output",
                "type": "output",
                "value": {"ranking": "{rank.items}", "summary": "{summary.text}"},
                "position": {"x": 1040, "y": 120},
            },
        ],
        "edges": [
            {"source": "input", "target": "rate"},
            {"source": "rate", "target": "rank"},
            {"source": "rank", "target": "summary"},
            {"source": "rank", "target": "output"},
            {"source": "summary", "target": "output"},
        ],
    }


async def seed_recruiting_demo(tenant_id: uuid.UUID) -> None:
    """The recruiting demo of a workspace (docs/workflows.md): the "Job description writer"
    agent and the "Candidate fit ranking" workflow, on the offline demo model. Idempotent."""
    async with db.scope(tenant_id):
        if not await Agent.exists().where(
            (Agent.tenant == tenant_id) & (Agent.name == "Job description writer")
        ):
            await Agent.insert(
                Agent(
                    tenant=tenant_id,
                    name="Job description writer",
                    role=JD_WRITER_ROLE,
                    llm_config=json.dumps({"provider": "demo", "model": "demo-1"}),
                )
            )
        if not await Workflow.exists().where(
            (Workflow.tenant == tenant_id) & (Workflow.name == "Candidate fit ranking")
        ):
            await Workflow.insert(
                Workflow(
                    tenant=tenant_id,
                    name="Candidate fit ranking",
                    description="Rate each candidate against a job description, rank by fit, summarize.",
                    dag_structure=json.dumps(candidate_fit_dag()),
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
    await seed_recruiting_demo(tenant["id"])
    return {
        "app admin": f"admin@hirebuddha.local / {admin_password}",
        "demo tenant admin": f"demo@hirebuddha.local / {demo_password}",
    }
