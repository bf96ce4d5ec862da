"""`POST /admin/tenants/{id}/credit`: the app admin tops up a tenant's prepaid credit.

Recorded in the audit log with its note and the new balance; the rules the credit feeds
are in `ledger.budget`.
"""

from __future__ import annotations

import uuid

from litestar import Controller, post
from litestar.di import Provide

from web.admin.deps import provide_admin_service
from web.admin.service import AdminService
from web.auth.guards import requires_app_admin
from web.tenant.schemas import CreditIn, CreditOut


class CreditController(Controller):
    """The app admin tops up a tenant's prepaid credit."""

    path = "/admin/tenants"
    guards = [requires_app_admin]
    dependencies = {"admin_service": Provide(provide_admin_service)}
    tags = ["admin"]

    @post("/{tenant_id:uuid}/credit", status_code=201)
    async def add_credit(
        self, admin_service: AdminService, tenant_id: uuid.UUID, data: CreditIn
    ) -> CreditOut:
        """Add `amount` to the tenant's credit (a tenant without a plan gets a prepaid one)."""
        balance = await admin_service.add_credit(tenant_id, data.amount, data.note)
        return CreditOut(tenant_id=tenant_id, credit_balance=balance)
