"""The billing rules as callers meet them: a tenant admin's own billing, the app admin's view."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from billing import invoices, payments, render
from runtime import clock, db
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

    async def setup_intent(self) -> dict[str, str]:
        intent = await payments.setup_intent(self.tenant_id)
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


class AdminBillingService:
    """The app admin's view of billing: every invoice, dunning, closing a period by hand."""

    def __init__(self, me: Principal) -> None:
        self.me = me

    async def invoices(self) -> list[dict[str, Any]]:
        async with db.scope(system=True):
            return await repo.invoices(None)

    async def mailbox(self) -> list[dict[str, Any]]:
        async with db.scope(system=True):
            return await repo.mailbox(50)

    async def dunning(self) -> list[dict[str, Any]]:
        async with db.scope(system=True):
            return await repo.dunning()

    async def close_previous_period(self) -> list[dict[str, Any]]:
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
        return made
