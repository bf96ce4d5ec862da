"""Billing routes (docs/billing.md "API").

- `/tenant/billing/*` (tenant admin): overview, SetupIntents and cards, invoices (JSON, HTML, PDF).
- `/tenant/billing/credit`, `/plans`, `/subscription` (tenant admin): prepaid credit, plans.
- `/admin/billing/*` (app admin): every invoice, dunning state, plans, revenue, the dev
  mailbox, close last month now.
- `/partner/statements/*` (partner admin): monthly commission statements, CSV and PDF.
- `POST /billing/stripe/webhook` (public; Stripe signs it): see billing/webhooks.py.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import Provide
from litestar.params import Parameter

from billing import webhooks
from web.auth.guards import requires_app_admin, requires_partner_admin, requires_tenant_admin
from web.billing.deps import provide_admin_billing, provide_partner_statements, provide_tenant_billing
from web.billing.schemas import (
    BillingOverviewOut,
    CaughtMailOut,
    CreditBoughtOut,
    DunningOut,
    InvoiceDetailOut,
    InvoiceOut,
    InvoiceVoidIn,
    PaymentMethodIn,
    PaymentMethodOut,
    PlanIn,
    PlanOut,
    PlanPatch,
    PrepaidCreditIn,
    PrepaidCreditOut,
    RevenueMonthOut,
    SetupIntentOut,
    StatementMonthOut,
    StatementOut,
    SubscriptionIn,
    SubscriptionOut,
    WebhookOut,
)
from web.billing.service import AdminBillingService, PartnerStatementService, TenantBillingService


class TenantBillingController(Controller):
    """The tenant admin's billing."""

    path = "/tenant/billing"
    guards = [requires_tenant_admin]
    tags = ["billing"]
    dependencies = {"billing": Provide(provide_tenant_billing, sync_to_thread=False)}

    @get("/")
    async def billing_overview(self, billing: TenantBillingService) -> BillingOverviewOut:
        """Account state, cards and recent invoices, and what the console needs for Stripe.js."""
        return msgspec.convert(await billing.overview(), BillingOverviewOut, from_attributes=True)

    @post("/setup-intents", status_code=201)
    async def create_setup_intent(self, billing: TenantBillingService, ip: str | None) -> SetupIntentOut:
        """A SetupIntent for Stripe.js to confirm with the card the admin types in."""
        return msgspec.convert(await billing.setup_intent(ip), SetupIntentOut)

    @get("/payment-methods")
    async def list_payment_methods(self, billing: TenantBillingService) -> list[PaymentMethodOut]:
        return msgspec.convert(await billing.methods(), list[PaymentMethodOut], from_attributes=True)

    @post("/payment-methods", status_code=201)
    async def add_payment_method(
        self, billing: TenantBillingService, data: PaymentMethodIn, ip: str | None
    ) -> PaymentMethodOut:
        """Store the card of a SetupIntent that Stripe.js confirmed (first card = default)."""
        row = await billing.add_method(data.setup_intent_id, ip)
        return msgspec.convert(row, PaymentMethodOut, from_attributes=True)

    @post("/payment-methods/{method_id:uuid}/default", status_code=200)
    async def set_default_payment_method(
        self, billing: TenantBillingService, method_id: uuid.UUID, ip: str | None
    ) -> list[PaymentMethodOut]:
        return msgspec.convert(
            await billing.set_default(method_id, ip), list[PaymentMethodOut], from_attributes=True
        )

    @delete("/payment-methods/{method_id:uuid}", status_code=204)
    async def remove_payment_method(
        self, billing: TenantBillingService, method_id: uuid.UUID, ip: str | None
    ) -> None:
        """Detach the card in Stripe and forget it here."""
        await billing.remove(method_id, ip)

    @get("/invoices")
    async def list_invoices(self, billing: TenantBillingService) -> list[InvoiceOut]:
        return msgspec.convert(await billing.invoices(), list[InvoiceOut], from_attributes=True)

    @get("/invoices/{invoice_id:uuid}")
    async def get_invoice(self, billing: TenantBillingService, invoice_id: uuid.UUID) -> InvoiceDetailOut:
        return msgspec.convert(await billing.invoice(invoice_id), InvoiceDetailOut, from_attributes=True)

    @get("/credit")
    async def credit_balance(self, billing: TenantBillingService) -> PrepaidCreditOut:
        """Prepaid credit left and every credit that landed (purchases, plan allowances)."""
        return msgspec.convert(await billing.credit(), PrepaidCreditOut, from_attributes=True)

    @post("/credit", status_code=201)
    async def buy_credit(
        self, billing: TenantBillingService, data: PrepaidCreditIn, ip: str | None
    ) -> CreditBoughtOut:
        """Charge the default card and land the credit once (a repeated `request_key` is one purchase)."""
        return msgspec.convert(await billing.buy_credit(data.amount, data.request_key, ip), CreditBoughtOut)

    @get("/plans")
    async def list_plans(self, billing: TenantBillingService) -> list[PlanOut]:
        return msgspec.convert(await billing.plans(), list[PlanOut], from_attributes=True)

    @get("/subscription")
    async def get_subscription(self, billing: TenantBillingService) -> SubscriptionOut:
        return msgspec.convert(await billing.subscription(), SubscriptionOut, from_attributes=True)

    @put("/subscription")
    async def change_subscription(
        self, billing: TenantBillingService, data: SubscriptionIn, ip: str | None
    ) -> SubscriptionOut:
        """Subscribe, upgrade or downgrade at once: the plan sets tier, concurrency and included credit."""
        row = await billing.subscribe(data.plan_name, data.billing_cycle, ip)
        return msgspec.convert(row, SubscriptionOut, from_attributes=True)

    @delete("/subscription", status_code=200)
    async def cancel_subscription(self, billing: TenantBillingService, ip: str | None) -> SubscriptionOut:
        """Back to the free tier; credit left stays usable."""
        return msgspec.convert(await billing.cancel(ip), SubscriptionOut, from_attributes=True)

    @get("/invoices/{invoice_id:uuid}/html", media_type="text/html")
    async def invoice_html(self, billing: TenantBillingService, invoice_id: uuid.UUID) -> Response[str]:
        body = await billing.document(invoice_id, "html")
        return Response(str(body), media_type="text/html; charset=utf-8")

    @get("/invoices/{invoice_id:uuid}/pdf", media_type="application/pdf")
    async def invoice_pdf(self, billing: TenantBillingService, invoice_id: uuid.UUID) -> Response[bytes]:
        body = await billing.document(invoice_id, "pdf")
        assert isinstance(body, bytes)
        return Response(
            body,
            media_type="application/pdf",
            headers={"content-disposition": f'attachment; filename="invoice-{invoice_id}.pdf"'},
        )


class AdminBillingController(Controller):
    """The app admin's billing view."""

    path = "/admin/billing"
    guards = [requires_app_admin]
    tags = ["admin", "billing"]
    dependencies = {"billing": Provide(provide_admin_billing, sync_to_thread=False)}

    @get("/invoices")
    async def list_all_invoices(self, billing: AdminBillingService) -> list[InvoiceOut]:
        return msgspec.convert(await billing.invoices(), list[InvoiceOut], from_attributes=True)

    @post("/invoices/{invoice_id:uuid}/void", status_code=200)
    async def void_invoice(
        self, billing: AdminBillingService, invoice_id: uuid.UUID, data: InvoiceVoidIn, ip: str | None
    ) -> InvoiceOut:
        """Forgive an unpaid invoice (draft, open or uncollectible): no more charges or dunning
        for it; a tenant suspended only for it is resumed. 409 when paid or void already."""
        row = await billing.void_invoice(invoice_id, data.reason, ip)
        return msgspec.convert(row, InvoiceOut, from_attributes=True)

    @get("/dunning")
    async def dunning_state(self, billing: AdminBillingService) -> list[DunningOut]:
        """Every unpaid invoice whose charge failed: attempts, last error, suspension."""
        return msgspec.convert(await billing.dunning(), list[DunningOut], from_attributes=True)

    @get("/plans")
    async def list_all_plans(self, billing: AdminBillingService) -> list[PlanOut]:
        return msgspec.convert(await billing.plans(), list[PlanOut], from_attributes=True)

    @post("/plans", status_code=201)
    async def create_plan(self, billing: AdminBillingService, data: PlanIn, ip: str | None) -> PlanOut:
        row = await billing.create_plan(msgspec.structs.asdict(data), ip)
        return msgspec.convert(row, PlanOut, from_attributes=True)

    @patch("/plans/{plan_id:uuid}")
    async def update_plan(
        self, billing: AdminBillingService, plan_id: uuid.UUID, data: PlanPatch, ip: str | None
    ) -> PlanOut:
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        return msgspec.convert(await billing.update_plan(plan_id, changes, ip), PlanOut, from_attributes=True)

    @get("/revenue")
    async def revenue_by_month(
        self, billing: AdminBillingService, months: Annotated[int, Parameter(ge=1, le=36)] = 12
    ) -> list[RevenueMonthOut]:
        """Platform cost, tenant revenue and partner commission per month, and per partner."""
        return msgspec.convert(await billing.revenue(months), list[RevenueMonthOut], from_attributes=True)

    @get("/mailbox")
    async def dev_mailbox(self, billing: AdminBillingService) -> list[CaughtMailOut]:
        """The newest 50 mails the development catcher received (`make up`; empty in production)."""
        return msgspec.convert(await billing.mailbox(), list[CaughtMailOut], from_attributes=True)

    @post("/close-period", status_code=200)
    async def close_last_period(self, billing: AdminBillingService, ip: str | None) -> list[InvoiceOut]:
        """Invoice last month for every tenant now instead of waiting for the scheduled job."""
        made = await billing.close_previous_period(ip)
        return msgspec.convert(made, list[InvoiceOut], from_attributes=True)


Month = Annotated[str, Parameter(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]


class PartnerStatementController(Controller):
    """A partner admin's monthly commission statements (the sums /partner/earnings reports)."""

    path = "/partner/statements"
    guards = [requires_partner_admin]
    tags = ["partner", "billing"]
    dependencies = {"statements": Provide(provide_partner_statements, sync_to_thread=False)}

    @get("/")
    async def list_statements(self, statements: PartnerStatementService) -> list[StatementMonthOut]:
        return msgspec.convert(await statements.months(), list[StatementMonthOut])

    @get("/{month:str}")
    async def get_statement(self, statements: PartnerStatementService, month: Month) -> StatementOut:
        return msgspec.convert(await statements.statement(month), StatementOut)

    @get("/{month:str}/csv", media_type="text/csv")
    async def statement_csv(self, statements: PartnerStatementService, month: Month) -> Response[str]:
        body = await statements.document(month, "csv")
        return Response(
            str(body),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="statement-{month}.csv"'},
        )

    @get("/{month:str}/pdf", media_type="application/pdf")
    async def statement_pdf(self, statements: PartnerStatementService, month: Month) -> Response[bytes]:
        body = await statements.document(month, "pdf")
        assert isinstance(body, bytes)
        return Response(
            body,
            media_type="application/pdf",
            headers={"content-disposition": f'attachment; filename="statement-{month}.pdf"'},
        )


class StripeWebhookController(Controller):
    """Stripe's events; authenticated by their signature, not by a token."""

    path = "/billing/stripe"
    tags = ["billing"]

    @post("/webhook", opt={"exclude_from_auth": True}, status_code=200)
    async def stripe_webhook(self, request: Request) -> WebhookOut:
        """Verify the Stripe-Signature (300 s tolerance), apply the event once."""
        event = webhooks.verify(await request.body(), request.headers.get("stripe-signature"))
        fresh = await webhooks.handle(event)
        return WebhookOut(received=True, duplicate=not fresh)
