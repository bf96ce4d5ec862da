"""The billing rules as callers meet them: a tenant admin's own billing, the app admin's view."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from billing import charging, credit, invoices, payments, plans, render, statements
from runtime import clock, db
from runtime.errors import CodedError
from runtime.settings import get_settings
from web import audit
from web.auth.identity import Principal
from web.billing import repository as repo
from web.deps import found


class TenantBillingService:
    """A tenant admin's billing: cards, invoices, the state of the account."""

    def __init__(self, me: Principal) -> None:
        self.me = me
        self.tenant_id = me.tenant_id

    async def overview(self) -> dict[str, Any]:
        async with db.scope(self.tenant_id):
            tenant = found(await repo.tenant(self.tenant_id), "Tenant")
            methods = await payments.methods(self.tenant_id)
            bills = await repo.invoices(self.tenant_id, 24)
        settings = get_settings()
        return {
            "tenant_status": tenant["status"],
            "suspended_for_payment": tenant["billing_suspended_at"] is not None,
            "payment_methods": methods,
            "invoices": bills,
            "publishable_key": settings.stripe_publishable_key,
            "stripe_js_url": settings.stripe_js_url,
        }

    async def setup_intent(self, ip: str | None = None) -> dict[str, str]:
        intent = await payments.setup_intent(self.tenant_id)
        async with db.scope(self.tenant_id):  # a card form opened: Stripe holds an intent for it
            await audit.record(
                "billing.setup_intent.create", tenant_id=self.tenant_id, actor_id=self.me.id, ip=ip
            )
        settings = get_settings()
        return {
            **intent,
            "publishable_key": settings.stripe_publishable_key,
            "stripe_js_url": settings.stripe_js_url,
        }

    async def add_method(self, setup_intent_id: str, ip: str | None) -> dict[str, Any]:
        row = await payments.add_from_setup_intent(self.tenant_id, setup_intent_id)
        await self._audit("billing.payment_method.add", row["id"], ip)
        return row

    async def methods(self) -> list[dict[str, Any]]:
        async with db.scope(self.tenant_id):
            return await payments.methods(self.tenant_id)

    async def set_default(self, method_id: uuid.UUID, ip: str | None) -> list[dict[str, Any]]:
        async with db.scope(self.tenant_id):
            if not await payments.set_default(self.tenant_id, method_id):
                found(None, "Payment method")
            await audit.record(
                "billing.payment_method.default",
                tenant_id=self.tenant_id,
                actor_id=self.me.id,
                target_type="payment_method",
                target_id=method_id,
                ip=ip,
            )
            return await payments.methods(self.tenant_id)

    async def remove(self, method_id: uuid.UUID, ip: str | None) -> None:
        if not await payments.remove(self.tenant_id, method_id):
            found(None, "Payment method")
        await self._audit("billing.payment_method.remove", method_id, ip)

    async def invoices(self) -> list[dict[str, Any]]:
        async with db.scope(self.tenant_id):
            return await repo.invoices(self.tenant_id)

    async def invoice(self, invoice_id: uuid.UUID) -> dict[str, Any]:
        async with db.scope(self.tenant_id):
            row = found(await repo.invoice(self.tenant_id, invoice_id), "Invoice")
            return {**row, "lines": await invoices.lines(invoice_id)}

    async def document(self, invoice_id: uuid.UUID, kind: str) -> bytes | str:
        async with db.scope(self.tenant_id):
            row = found(await repo.invoice(self.tenant_id, invoice_id), "Invoice")
            lines = await invoices.lines(invoice_id)
            tenant = found(await repo.tenant(self.tenant_id), "Tenant")
        if kind == "pdf":
            return render.invoice_pdf(row, lines, tenant["name"])
        return render.invoice_html(row, lines, tenant["name"])

    async def credit(self) -> dict[str, Any]:
        async with db.scope(self.tenant_id):
            return {
                "credit_balance": await credit.balance_of(self.tenant_id),
                "purchases": await credit.purchases(self.tenant_id),
            }

    async def buy_credit(self, amount: Decimal, request_key: str, ip: str | None) -> dict[str, Any]:
        bought = await credit.buy(self.tenant_id, amount, request_key)
        async with db.scope(self.tenant_id):
            await audit.record(
                "billing.credit.buy",
                tenant_id=self.tenant_id,
                actor_id=self.me.id,
                ip=ip,
                amount=str(bought["amount"]),
                payment_intent=bought["payment_intent_id"],
            )
        return bought

    async def plans(self) -> list[dict[str, Any]]:
        async with db.scope(self.tenant_id):
            return await plans.catalog(active_only=True)

    async def subscription(self) -> dict[str, Any]:
        async with db.scope(self.tenant_id):
            return found(await plans.current(self.tenant_id), "Subscription")

    async def subscribe(self, plan_name: str, cycle: str, ip: str | None) -> dict[str, Any]:
        async with db.scope(self.tenant_id):
            result = await plans.subscribe(self.tenant_id, plan_name, cycle)
            await audit.record(
                "billing.subscription.change",
                tenant_id=self.tenant_id,
                actor_id=self.me.id,
                ip=ip,
                plan=plan_name,
                cycle=cycle,
            )
            return result

    async def cancel(self, ip: str | None) -> dict[str, Any]:
        async with db.scope(self.tenant_id):
            result = found(await plans.cancel(self.tenant_id), "Subscription")
            await audit.record(
                "billing.subscription.cancel", tenant_id=self.tenant_id, actor_id=self.me.id, ip=ip
            )
            return result

    async def _audit(self, action: str, target: uuid.UUID, ip: str | None) -> None:
        async with db.scope(self.tenant_id):
            await audit.record(
                action,
                tenant_id=self.tenant_id,
                actor_id=self.me.id,
                target_type="payment_method",
                target_id=target,
                ip=ip,
            )


class PartnerStatementService:
    """A partner admin's monthly commission statements."""

    def __init__(self, me: Principal) -> None:
        if me.partner_id is None:
            raise CodedError("forbidden", "Only a partner has statements.", 403)
        self.partner_id = me.partner_id

    async def months(self) -> list[dict[str, Any]]:
        async with db.scope(partner_id=self.partner_id):
            return await statements.months(self.partner_id)

    async def statement(self, month: str) -> dict[str, Any]:
        try:
            statements.month_of(month)
        except ValueError as exc:
            raise CodedError("validation_error", "The month is YYYY-MM.", 400) from exc
        async with db.scope(partner_id=self.partner_id):
            return await statements.statement(self.partner_id, month)

    async def document(self, month: str, kind: str) -> bytes | str:
        doc = await self.statement(month)
        if kind == "csv":
            return statements.as_csv(doc)
        async with db.scope(partner_id=self.partner_id):
            partner = await repo.partner(self.partner_id)
        return statements.as_pdf(doc, partner["name"] if partner else "")


class AdminBillingService:
    """The app admin's view of billing: every invoice, dunning, closing a period by hand."""

    def __init__(self, me: Principal) -> None:
        self.me = me

    async def invoices(self) -> list[dict[str, Any]]:
        async with db.scope(system=True):
            return await repo.invoices(None)

    async def plans(self) -> list[dict[str, Any]]:
        async with db.scope(system=True):
            return await plans.catalog(active_only=False)

    async def create_plan(self, data: dict[str, Any], ip: str | None) -> dict[str, Any]:
        async with db.scope(system=True):
            if await repo.plan_by_name(data["name"]):
                raise CodedError("conflict", f"A plan named {data['name']!r} exists.", 409)
            row = await repo.insert_plan(data)
            await audit.record(
                "billing.plan.create",
                tenant_id=None,
                actor_id=self.me.id,
                target_type="plan",
                target_id=row["id"],
                ip=ip,
            )
            return row

    async def update_plan(
        self, plan_id: uuid.UUID, changes: dict[str, Any], ip: str | None
    ) -> dict[str, Any]:
        async with db.scope(system=True):
            row = found(await repo.update_plan(plan_id, changes), "Plan")
            await audit.record(
                "billing.plan.update",
                tenant_id=None,
                actor_id=self.me.id,
                target_type="plan",
                target_id=plan_id,
                ip=ip,
            )
            return row

    async def void_invoice(self, invoice_id: uuid.UUID, reason: str, ip: str | None) -> dict[str, Any]:
        """Void an unpaid invoice (billing/charging.py `void`), audited with the reason."""
        try:
            row = found(await charging.void(invoice_id), "Invoice")
        except charging.NotVoidable as exc:
            raise CodedError(
                "conflict", f"The invoice is {exc.status}; only an unpaid invoice can be voided.", 409
            ) from exc
        async with db.scope(system=True):
            await audit.record(
                "billing.invoice.void",
                tenant_id=row["tenant_id"],
                actor_id=self.me.id,
                target_type="invoice",
                target_id=invoice_id,
                ip=ip,
                reason=reason,
            )
            return await repo.invoice(row["tenant_id"], invoice_id) or row

    async def revenue(self, months: int) -> list[dict[str, Any]]:
        start, _ = invoices.period_of(await clock.now())
        for _ in range(months - 1):
            start, _ = invoices.period_of(start - dt.timedelta(days=1))
        async with db.scope(system=True):
            return await statements.revenue(start)

    async def mailbox(self) -> list[dict[str, Any]]:
        async with db.scope(system=True):
            return await repo.mailbox(50)

    async def dunning(self) -> list[dict[str, Any]]:
        async with db.scope(system=True):
            return await repo.dunning()

    async def close_previous_period(self, ip: str | None = None) -> list[dict[str, Any]]:
        """Invoice every tenant for the last ended month now (what the scheduled job does)."""
        end, _ = invoices.period_of(await clock.now())
        previous, _ = invoices.period_of(end - dt.timedelta(days=1))
        async with db.scope(system=True):
            tenants = await invoices.tenants_to_invoice(end)
        made = []
        for tenant_id in tenants:
            async with db.scope(tenant_id):
                row = await invoices.close_period(tenant_id, previous, end)
                if row is not None:
                    made.append(row)
        async with db.scope(system=True):
            await audit.record(
                "billing.period.close", tenant_id=None, actor_id=self.me.id, ip=ip, invoices=len(made)
            )
        return made
