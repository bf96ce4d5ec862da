"""The Litestar application: `create_app()` is the one factory (`hirebuddha web` serves it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler, Message, Scope

from runtime import db, deadletters, heap, metrics, telemetry
from runtime.settings import Settings, get_settings
from web.admin.controller import AdminController
from web.admin.credit import CreditController
from web.admin.deadletters import DeadLetterController
from web.admin.domains import DomainClaimAdminController
from web.admin.erasure import ErasureController
from web.admin.identity_providers import IdentityProviderController
from web.admin.tiers import TierController
from web.agents.controller import AgentController
from web.audit.controller import PlatformAuditController, TenantAuditController
from web.auth.controller import AuthController, OidcController, me
from web.auth.middleware import BearerAuthMiddleware
from web.auth.profile import ProfileController
from web.billing.controller import (
    AdminBillingController,
    PartnerStatementController,
    StripeWebhookController,
    TenantBillingController,
)
from web.branding.controller import PartnerBrandController, host_brand, my_brand
from web.channels.controller import ChannelController, telegram_webhook, whatsapp_verify, whatsapp_webhook
from web.chat.controller import chat_socket
from web.chat.relay import Relay
from web.deps import API_DEPENDENCIES
from web.errors import EXCEPTION_HANDLERS
from web.executions.bus import open_bus
from web.executions.controller import ExecutionController
from web.handover.controller import HandoverController, InboxController, inbox_socket
from web.health import live, prometheus_metrics, ready
from web.jobs import intake
from web.jobs.asyncapi import asyncapi_document
from web.knowledge.controller import AgentDocumentsController, DocumentController, KnowledgeController
from web.logs import access_log, configure_logging, request_id_middleware
from web.models.controller import ModelAdminController, ModelController
from web.openai_api.controller import openai_lifespan, openai_router
from web.partner.controller import PartnerController
from web.partner.support import PartnerSupportController
from web.providers.controller import ProviderController
from web.security.headers import security_headers
from web.security.quota import api_quota_middleware
from web.security.revocation import revocation_lifespan
from web.sessions.controller import SessionController
from web.spa import spa
from web.tenant.controller import (
    BudgetController,
    ExportController,
    LimitsController,
    TenantController,
    WebhookSecretController,
)
from web.tenant.escalation import EscalationRulesController
from web.tenant.invitations import InvitationController
from web.tenant.security import TenantSecurityController
from web.tenant.support import SupportAccessController
from web.usage.controller import ledger_entries, usage
from web.usage.live import usage_lifespan
from web.usage.ws import usage_socket
from web.widgets.controller import WidgetController, widget_config, widget_script
from web.widgets.socket import widget_socket
from web.workflows.controller import WorkflowController, WorkflowRunController, run_socket

API_HANDLERS: list[ControllerRouterHandler] = [
    AuthController,
    OidcController,
    me,
    ProfileController,
    TenantController,
    AgentController,
    SessionController,
    chat_socket,
    ExecutionController,
    WorkflowController,
    WorkflowRunController,
    run_socket,
    PartnerController,
    AdminController,
    DeadLetterController,
    WebhookSecretController,
    usage,
    ledger_entries,
    BudgetController,
    CreditController,
    usage_socket,
    PlatformAuditController,
    TenantAuditController,
    ProviderController,
    ModelAdminController,
    ModelController,
    HandoverController,
    InboxController,
    inbox_socket,
    EscalationRulesController,
    TierController,
    LimitsController,
    ExportController,
    ErasureController,
    InvitationController,
    TenantSecurityController,
    SupportAccessController,
    PartnerSupportController,
    DomainClaimAdminController,
    IdentityProviderController,
    DocumentController,
    KnowledgeController,
    AgentDocumentsController,
    WidgetController,
    widget_config,
    widget_socket,
    PartnerBrandController,
    my_brand,
    host_brand,
    ChannelController,
    telegram_webhook,
    whatsapp_webhook,
    whatsapp_verify,
    TenantBillingController,
    AdminBillingController,
    StripeWebhookController,
    PartnerStatementController,
]


async def _count_status(message: Message, scope: Scope) -> None:
    if message["type"] == "http.response.start":
        metrics.HTTP_REQUESTS.labels(f"{message['status'] // 100}xx").inc()


@asynccontextmanager
async def _freeze_startup(app: Litestar) -> AsyncIterator[None]:
    """The last lifespan: what startup built (modules, the app, pools) lives as long as the
    process, so it is moved out of the cyclic collector's reach, and collections are made
    rarer (runtime/heap.py). Otherwise every full collection walked it all: 0.2-0.5 s with
    the loop stopped, every few seconds while sockets stream (README "Performance")."""
    heap.settle_startup()  # and the collector's thresholds (runtime/heap.py)
    yield


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the web application for these settings (default: the environment's)."""
    settings = settings or get_settings()
    configure_logging()
    telemetry.setup("web", settings.otlp_endpoint)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await db.open_pool()
        try:
            async with open_bus(settings) as bus:
                # One relay per process: stream events from the actors to this process's sockets.
                relay = Relay(settings.broker.url, bus.topo)
                await relay.start()
                app.state.bus, app.state.relay = bus, relay
                # Dead letters of every queue land in PostgreSQL for the admin's console.
                dead = await bus.broker.declare_queue(bus.topo.dead_letters)
                sink = asyncio.create_task(deadletters.sink(dead), name="dead-letter-sink")
                jobs = await intake.start(bus)  # external jobs (web.jobs)
                try:
                    yield
                finally:
                    await jobs.stop()  # type: ignore[attr-defined]
                    sink.cancel()
                    await relay.close()
        finally:
            await db.close_pool()

    origins = [f"http://{settings.http.host}:{settings.http.port}", *settings.http.allowed_origins]
    api = Router(path="/api/v1", route_handlers=API_HANDLERS, dependencies=API_DEPENDENCIES)
    return Litestar(
        route_handlers=[
            api,
            openai_router,
            live,
            ready,
            prometheus_metrics,
            asyncapi_document,
            widget_script,
            spa,
        ],
        lifespan=[lifespan, usage_lifespan, revocation_lifespan, openai_lifespan, _freeze_startup],
        middleware=[
            request_id_middleware,
            DefineMiddleware(BearerAuthMiddleware, exclude=["^/schema", "^/health", "^/metrics"]),
            api_quota_middleware,  # inside authentication: it meters the caller's tenant
        ],
        before_send=[access_log, _count_status, security_headers(settings)],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=settings.http.max_body_bytes,
        cors_config=CORSConfig(allow_origins=origins, allow_credentials=True),
        openapi_config=OpenAPIConfig(
            title="Hirebuddha",
            version="1.0.0",
            path="/schema",
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
            ),
            security=[{"bearer": []}],
        ),
        state=State({"settings": settings}),
        logging_config=None,
        debug=False,
    )
